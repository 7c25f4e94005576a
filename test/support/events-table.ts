/**
 * The small `events` source several history tests share: `events(id int PRIMARY KEY, note text,
 * updated_at timestamptz NOT NULL)` with its (cursor, key) index, and the pipeline file that syncs it.
 */

/** SQL creating `events` with ids 1…rows, one minute apart from 2025-01-01; `note` is a SQL expression of `g` (the id). */
export function eventsTableSql(rows: number, note = `'n' || g`): string {
  return `CREATE TABLE events (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
    CREATE INDEX ON events (updated_at, id);
    INSERT INTO events SELECT g, ${note}, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, ${rows}) AS g;`;
}

/** The pipeline file for `events` (target `events`); `source` and `rest` add lines under `source:` and at the top level. */
export function eventsPipeline(batchSize: number, opts: { source?: string; rest?: string } = {}): string {
  return `source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\n${opts.source ?? ''}target:\n  table: events\nbatch_size: ${batchSize}\n${opts.rest ?? ''}`;
}
