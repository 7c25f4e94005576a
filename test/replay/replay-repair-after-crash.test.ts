/**
 * Found by review: a run killed after its row group committed in DuckDB but before its checkpoints (fault point
 * `after-commit`) leaves its batch files numbered past the state store's count; replay leaves such
 * files out (they are "a run's uncommitted batch", rewritten by the next run). A reconcile (or
 * `verify --repair`) before that next run numbers its deletes file after the count, and moves the
 * count past it: the killed run's first batch file now shares the deletes file's number and counts as
 * committed, but the next run numbers its batches after the repair and never rewrites it. Replay applies
 * the deletes file, then (same seq, batch after deletes) that old batch file: the row the reconcile
 * removed is back in the rebuilt table, while the synced table (and the source) no longer has it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, duckIds, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('reconcile after a run killed between its commit and its checkpoints: replay --drop-target does not bring the removed row back', async () => {
  const url = await pgs.createDatabase('replay_repair_after_crash');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(20, `'v1'`));
    ws.writePipeline('events', eventsPipeline(5));
    await runOnce(ws, url);

    // Ten rows change; the run applying them (two batches, one row group) is killed once the group committed.
    await pgs.query(url, `UPDATE events SET note = 'v2', updated_at = '2025-02-01 00:00:00+00'::timestamptz + id * interval '1 minute' WHERE id <= 10`);
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-commit' });
    assert.equal(killed.signal, 'SIGKILL', `the run was killed at its fault point: ${killed.stderr.slice(-1000)}`);

    // Row 3 is hard-deleted; a reconcile removes it before the next run.
    await pgs.query(url, `DELETE FROM events WHERE id = 3`);
    const reconciled = await runCli(['reconcile', 'events'], ws.env(url));
    assert.equal(reconciled.code, 0, reconciled.stderr.slice(-2000));
    await runOnce(ws, url);
    await assertVerified(ws, url);
    const synced = await duckIds(ws, 'events');

    const files = readdirSync(join(ws.parquetDir, 'events'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.parquet'))
      .sort();
    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    const source = (await pgs.query(url, `SELECT array_agg(id ORDER BY id) AS ids FROM events`)).rows[0].ids as number[];
    const rebuilt = await duckIds(ws, 'events');
    assert.deepEqual(
      rebuilt.filter((id) => !source.includes(id)),
      [],
      `rows the rebuilt table holds that the source and the synced table (${JSON.stringify(synced)}) do not; history: ${JSON.stringify(files)}; replay said: ${replayed.stdout.trim()}`,
    );
    assert.deepEqual(rebuilt, synced, 'the rebuilt table is the synced one');
  } finally {
    ws.cleanup();
  }
});
