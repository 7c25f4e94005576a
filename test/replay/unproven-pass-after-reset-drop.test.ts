/**
 * Found by review (rows resurrected by a rebuild): a pass is "complete" only on the proof of a short batch
 * (`drained`) or a later batch written after the checkpoint said the pass was done (`passDone`). A
 * pass whose last batch came back exactly full ends with an empty read that writes no file, so until
 * some later batch is written it has no proof. After `reset --drop-target`, such a pass is the whole
 * of the runner's table, yet replay falls back to the older complete pass (replay-plan.ts: "more
 * files, same result") and re-applies rows hard-deleted before the reset, which the dropped table
 * held and the new pass never read.
 * Fixed: the state store's checkpoint (bootstrap done, rows loaded) proves the newest pass complete
 * (newestPassDone, src/replay/complete-passes.ts), for replay and prune alike.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, duckIds, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';
import { listHistory } from '../../src/parquet/history-files.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('reset --drop-target, a new pass whose last batch is full: replay --drop-target does not bring back a row deleted before the reset', async () => {
  const url = await pgs.createDatabase('review_unproven_pass');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(5));
    ws.writePipeline('events', eventsPipeline(2));
    await runOnce(ws, url); // batches 1, 2, 3 (1 row: drained): a complete pass
    await pgs.query(url, 'DELETE FROM events WHERE id = 5');
    const reset = await runCli(['reset', 'events', '--drop-target'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr);
    await runOnce(ws, url); // batches 4, 5 (rows 1…4, both full), then an empty read: the pass is done
    await assertVerified(ws, url);
    const synced = await duckIds(ws, 'events');
    assert.deepEqual(synced, [1, 2, 3, 4]);
    assert.deepEqual(
      listHistory(ws.parquetDir, 'events').files.map((f) => `${f.kind}:${f.seq}`),
      ['batch:1', 'batch:2', 'batch:3', 'batch:4', 'batch:5'],
    );

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'events'), synced, `the rebuilt table is the synced table (replay said: ${replayed.stdout.trim()})`);
  } finally {
    ws.cleanup();
  }
});
