/**
 * The benchmark's table, `bench_events`: 13 columns, the mix of a typical SaaS table, plus the
 * `deleted_at` tombstone the seed's tables carry (issue 11 asks for "the 5 most recently updated
 * live rows", which needs one). What seeds it, grows it, changes it, and the pipeline file that syncs it.
 */

/** 13 data columns and the tombstone. */
export const BENCH_COLUMNS = 14;

export const CREATE_SQL = `
CREATE TABLE bench_events (
  id bigint PRIMARY KEY, account_id bigint NOT NULL, kind text NOT NULL, amount numeric(12,2),
  qty integer, ratio double precision, ok boolean, ext uuid, payload jsonb, tags text[],
  day date, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, deleted_at timestamptz
);
CREATE INDEX ON bench_events (updated_at, id)`;

/** Rows $1..$2 (inclusive); every 50th row tombstoned. Row g is the same whichever call inserts it. */
export const INSERT_SQL = `
INSERT INTO bench_events
SELECT g, g % 5000, (ARRAY['click','view','buy','refund'])[1 + g % 4], (g % 100000) / 100.0,
       g % 1000, g / 7.0, g % 3 = 0, md5(g::text)::uuid, jsonb_build_object('n', g, 's', 'x' || g),
       ARRAY['t' || (g % 10), 'u'], DATE '2025-01-01' + (g % 365),
       TIMESTAMPTZ '2025-01-01' + g * interval '1 millisecond',
       TIMESTAMPTZ '2025-01-01' + (g / 3) * interval '3 microsecond',
       CASE WHEN g % 50 = 0 THEN TIMESTAMPTZ '2025-01-01' + (g / 3) * interval '3 microsecond' END
FROM generate_series($1::int, $2::int) g`;

/**
 * $1 random distinct rows changed as an application would: new amount and quantity, updated_at now,
 * one in ten of them tombstoned. Returns the changed ids (the count is checked against the cycle's rows).
 */
export const CHANGE_SQL = `
UPDATE bench_events e
SET amount = e.amount + 1, qty = e.qty + 1, updated_at = clock_timestamp(),
    deleted_at = CASE WHEN e.id % 10 = 0 THEN clock_timestamp() ELSE e.deleted_at END
FROM (SELECT id FROM bench_events ORDER BY random() LIMIT $1) picked
WHERE e.id = picked.id
RETURNING e.id`;

/** What the source and the synced table must agree on after the cycles (compared as text). */
export const CHECK_SQL = {
  postgres: `SELECT count(*)::text AS n, count(deleted_at)::text AS tombstoned, sum(amount)::text AS amount, sum(qty)::text AS qty FROM bench_events`,
  duckdb: `SELECT count(*)::VARCHAR AS n, count(deleted_at)::VARCHAR AS tombstoned, sum(amount)::VARCHAR AS amount, sum(qty)::VARCHAR AS qty FROM bench_events`,
};

/** The seed's kind of analytic query (README "Querying DuckDB"): on the `_current` view, which hides tombstoned rows. */
export const QUERIES = [
  { name: '5 most recently updated live rows', sql: 'SELECT id, kind, amount, updated_at FROM bench_events_current ORDER BY updated_at DESC LIMIT 5' },
  { name: 'grouped count and sum', sql: 'SELECT kind, count(*) AS n, sum(amount) AS total FROM bench_events_current GROUP BY kind ORDER BY kind' },
];

/** The pipeline file a user would write for it (file stem = pipeline name = `bench_events`). */
export function pipelineYaml(batchSize: number, keyIndex = true, parallel = 1): string {
  return [
    'source:',
    '  table: public.bench_events',
    '  primary_key: id',
    '  cursor: updated_at',
    '  soft_delete: deleted_at',
    'target:',
    '  table: bench_events',
    ...(keyIndex ? [] : ['  key_index: false']),
    `batch_size: ${batchSize}`,
    ...(parallel > 1 ? ['bootstrap:', `  parallel: ${parallel}`] : []),
    '',
  ].join('\n');
}
