/**
 * A pipeline file edited to name another cursor or another key (same number of columns) after its
 * checkpoint was written: the run refuses the old position (needs action, nothing read, the checkpoint
 * where it was) instead of comparing it with other columns; after `reset` it syncs on the new ones.
 * (Before the position's columns were recorded, a reordered key failed as an internal error on the
 * key's text, and a changed cursor of the same type read on from the old column's value.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { compareTables } from '../support/compare-tables.js';
import { readCheckpoint, resetCheckpoint, runOnce, runOutcome } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const file = (cursor: string, key: string) =>
  `source:\n  table: public.lines\n  primary_key: ${key}\n  cursor: ${cursor}\ntarget:\n  table: lines\nbatch_size: 500\n`;

test('a changed cursor or a reordered key refuses the old position; reset, and the pipeline syncs on the new columns', async () => {
  const url = await pgs.createDatabase('moved_position');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE lines (region text NOT NULL, id int NOT NULL, note text, updated_at timestamptz NOT NULL, modified_at timestamptz NOT NULL, PRIMARY KEY (region, id));
       CREATE INDEX ON lines (updated_at, region, id);
       CREATE INDEX ON lines (modified_at, region, id);
       CREATE INDEX ON lines (modified_at, id, region);
       INSERT INTO lines SELECT r, g, 'row ' || g, timestamptz '2025-06-01 00:00:00+00' + g * interval '1 second', timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
       FROM generate_series(1, 1000) AS g, unnest(array['eu', 'us']) AS r;`,
    );
    ws.writePipeline('lines', file('updated_at', '[region, id]'));
    await runOnce(ws, url);
    const synced = readCheckpoint(ws, 'lines');
    assert.deepEqual(synced?.positionOn, { cursor: 'updated_at', key: ['region', 'id'] });

    // Another cursor of the same type: its values lie before the position read on updated_at, so
    // reading on from it would have skipped every row changed since.
    await pgs.query(url, `UPDATE lines SET note = 'changed', modified_at = timestamptz '2025-03-01 00:00:00+00' + id * interval '1 second' WHERE id <= 10`);
    ws.writePipeline('lines', file('modified_at', '[region, id]'));
    let outcome = await runOutcome(ws, url);
    assert.ok(!outcome.ok, 'refused');
    assert.equal(outcome.code, 'CURSOR_CHANGED');
    assert.equal(outcome.kind, 'needs-action');
    assert.match(outcome.message, /the cursor changed: the checkpoint holds a position on updated_at, cursor now names modified_at.*pgduck reset lines/);
    assert.deepEqual(readCheckpoint(ws, 'lines')?.position, synced?.position, 'the checkpoint did not move');

    // A reordered key of other types: was an internal error on `invalid input syntax for type integer`.
    ws.writePipeline('lines', file('updated_at', '[id, region]'));
    outcome = await runOutcome(ws, url);
    assert.ok(!outcome.ok, 'refused');
    assert.equal(outcome.code, 'PRIMARY_KEY_CHANGED');
    assert.match(
      outcome.message,
      /the primary key changed: the checkpoint holds a position on \(region, id\), primary_key now names \(id, region\).*pgduck reset lines --drop-target/,
    );
    assert.deepEqual(readCheckpoint(ws, 'lines')?.position, synced?.position, 'the checkpoint did not move');

    // What the message says to do: a reset (the table kept), then the new cursor reads every row.
    ws.writePipeline('lines', file('modified_at', '[region, id]'));
    resetCheckpoint(ws, 'lines');
    await runOnce(ws, url);
    assert.deepEqual(readCheckpoint(ws, 'lines')?.positionOn, { cursor: 'modified_at', key: ['region', 'id'] });
    assert.deepEqual(await compareTables(url, 'public.lines', ws.duckdbPath, 'lines', ['region', 'id']), { pgRows: 2000, duckRows: 2000, mismatches: [] });
  } finally {
    ws.cleanup();
  }
});
