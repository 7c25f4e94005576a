/**
 * The NULL-cursor sweep (src/stages/null-cursor-sweep.ts) skips a chunk whose digest the last sweep
 * recorded, taking the target to hold that chunk's rows as the sweep wrote them. Two things changed
 * those rows behind the digests, and a row stayed stale or missing while the runs reported success
 * (both found by review; each test failed before the fix):
 *
 * - A run whose keyset pass loaded a row of such a chunk (the row had been given a cursor) and that
 *   ended before its sweep recorded anything (a crash, a stop, a failure in a later batch). When the
 *   row went back to a NULL cursor with the data the old sweep wrote, the next sweep found the old
 *   digest and DuckDB kept the keyset's version. A run now takes the digests at its first batch and
 *   forgets them in the state store (src/stages/extract.ts takeLastSweep): only a sweep that
 *   finished records them again.
 * - A reconcile: a NULL-cursor row deleted in the source is removed from DuckDB; inserted again as it
 *   was (a delete-and-insert writer, a restore), its chunk read as recorded and the row never came
 *   back. A repair (reconcile, verify --repair) now forgets the digests before it changes the target
 *   (src/repair/repair-rows.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { duckIds, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

/** Row 1 has a cursor; rows 2 and 3 are the sweep's. */
const LEGACY = `CREATE TABLE legacy (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz);
       CREATE INDEX ON legacy (updated_at, id);
       INSERT INTO legacy VALUES (1, 'has a cursor', '2025-01-01 00:00:00+00'), (2, 'a', NULL), (3, 'x', NULL);`;

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a row back to a NULL cursor after an interrupted run: DuckDB ends with its source version', async () => {
  const url = await pgs.createDatabase('null_cursor_interrupted');
  const ws = createWorkspace();
  const row2 = () =>
    withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT note, updated_at IS NULL AS null_cursor FROM legacy WHERE id = 2`))[0], {
      readOnly: true,
    });
  try {
    await pgs.query(url, LEGACY);
    ws.writePipeline('legacy', 'source:\n  table: public.legacy\n  primary_key: id\ntarget:\n  table: legacy\nbatch_size: 10\n');
    await runOnce(ws, url); // bootstrap; the sweep writes {2 a, 3 x} and records its digest
    assert.deepEqual(await row2(), { note: 'a', null_cursor: true });

    // Row 2 gets a cursor; the next run loads it by the keyset and is killed before its sweep is recorded.
    await pgs.query(url, `UPDATE legacy SET note = 'b', updated_at = '2025-02-01 00:00:00+00' WHERE id = 2`);
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-checkpoint:1' });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr.slice(-2000));
    assert.deepEqual(await row2(), { note: 'b', null_cursor: false }, 'the keyset version is committed');

    // Row 2 back to what the first sweep wrote.
    await pgs.query(url, `UPDATE legacy SET note = 'a', updated_at = NULL WHERE id = 2`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    assert.deepEqual(await row2(), { note: 'a', null_cursor: true }, 'DuckDB row 2 after two clean runs (source: note a, NULL cursor)');
  } finally {
    ws.cleanup();
  }
});

test('a NULL-cursor row removed by a reconcile and inserted again as it was: back in DuckDB', async () => {
  const url = await pgs.createDatabase('null_cursor_after_reconcile');
  const ws = createWorkspace();
  try {
    await pgs.query(url, LEGACY);
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
