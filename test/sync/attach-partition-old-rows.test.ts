/**
 * Rows of a partition attached after the bootstrap carry cursor values behind the checkpoint, so
 * the keyset never reads them. The source guard sees the ATTACH (the leaves' relfilenodes move) and
 * records a rewrite backfill; that backfill used to re-read only the rows DuckDB already held (its
 * staging JOIN), so these rows were read and dropped while the runs reported success (found by
 * review). A rewrite backfill that carries every column now also inserts the rows whose key the
 * target lacks, and a replay that rebuilds the table does the same from its history file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { duckIds, runOnce } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('rows of a partition attached after the bootstrap reach DuckDB, and a rebuild from the history has them too', async () => {
  const url = await pgs.createDatabase('attach_partition');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int NOT NULL, note text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
       CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (1) TO (1000);
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'live', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;
       -- last year's rows, loaded into a table of their own (as an archive restore or a bulk load does)
       CREATE TABLE events_0 (LIKE events INCLUDING DEFAULTS);
       INSERT INTO events_0 SELECT -g, 'archived', '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
    );
    ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: events\nbatch_size: 5\n');
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 20);

    await pgs.query(url, `ALTER TABLE events ATTACH PARTITION events_0 FOR VALUES FROM (-1000) TO (1)`);
    await runOnce(ws, url);
    await runOnce(ws, url);

    const source = (await pgs.query(url, `SELECT array_agg(id ORDER BY id) AS ids FROM events`)).rows[0].ids as number[];
    const target = await duckIds(ws, 'events');
    assert.equal(source.length, 30);
    assert.deepEqual(
      source.filter((id) => !target.includes(id)),
      [],
      'rows of events in Postgres that DuckDB lacks',
    );
    assert.deepEqual(target, source, 'each row once');

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'events'), source, 'the table rebuilt from the Parquet history');
  } finally {
    ws.cleanup();
  }
});
