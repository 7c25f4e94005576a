/**
 * The NULL-cursor sweep skips a chunk whose digest the last sweep recorded, taking the target to hold
 * that chunk's rows. A reconcile changes the target behind that memory: a NULL-cursor row deleted in
 * the source is removed from DuckDB; inserted again as it was (a delete-and-insert writer, a
 * restore), its chunk read exactly as the last sweep recorded it, so the sweep skipped it and DuckDB
 * never got the row back. A repair (reconcile, verify --repair) now forgets the digests before it
 * changes the target (src/repair/repair-rows.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { duckIds, reconcileOnce, runOnce } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a NULL-cursor row removed by a reconcile and inserted again as it was: back in DuckDB', async () => {
  const url = await pgs.createDatabase('null_cursor_after_reconcile');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE legacy (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz);
       CREATE INDEX ON legacy (updated_at, id);
       INSERT INTO legacy VALUES (1, 'has a cursor', '2025-01-01 00:00:00+00'), (2, 'a', NULL), (3, 'x', NULL);`,
    );
    ws.writePipeline('legacy', 'source:\n  table: public.legacy\n  primary_key: id\ntarget:\n  table: legacy\nbatch_size: 10\n');
    await runOnce(ws, url); // the sweep writes {2, 3} and records its digest
    assert.deepEqual(await duckIds(ws, 'legacy'), [1, 2, 3]);

    await pgs.query(url, `DELETE FROM legacy WHERE id = 2`);
    await reconcileOnce(ws, url);
    assert.deepEqual(await duckIds(ws, 'legacy'), [1, 3], 'the reconcile removed row 2');

    await pgs.query(url, `INSERT INTO legacy VALUES (2, 'a', NULL)`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    assert.deepEqual(await duckIds(ws, 'legacy'), [1, 2, 3], 'DuckDB ids after two clean runs (source: 1, 2, 3)');
  } finally {
    ws.cleanup();
  }
});
