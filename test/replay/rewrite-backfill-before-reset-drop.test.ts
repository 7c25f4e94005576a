/**
 * Found by review (rows resurrected by a rebuild): an idle run's rewrite re-read (VACUUM FULL moved the
 * relfilenode) writes its backfill file under the next batch number without taking it. A
 * `reset --drop-target` and a run then bootstrap the table with that same number (from: null), so
 * the newest complete pass starts there and the backfill file, sorting before that batch, is part of
 * the rebuild. Its `insertsMissing` re-inserts every row the re-read saw, including a row hard-deleted
 * before the reset: the runner's table never held it again, the rebuilt table does.
 * Fixed: an empty batch whose drift check ran a backfill takes its number (src/stages/checkpoint.ts),
 * so the new pass's first batch comes after it and the rebuild leaves the older re-read out.
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

test('a rewrite re-read by an idle run, then reset --drop-target and a run: replay --drop-target does not bring back a row deleted before the reset', async () => {
  const url = await pgs.createDatabase('review_rewrite_reset_drop');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(6));
    ws.writePipeline('events', eventsPipeline(100));
    await runOnce(ws, url); // batch 1: the bootstrap, rows 1…6
    await pgs.query(url, 'VACUUM FULL events');
    await runOnce(ws, url); // idle: the rewrite re-read, backfill/0000000002.*.parquet (inserts missing rows)
    await pgs.query(url, 'DELETE FROM events WHERE id = 4');
    const reset = await runCli(['reset', 'events', '--drop-target'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr);
    await runOnce(ws, url); // batch 2: the new bootstrap, from the beginning, rows 1,2,3,5,6
    await assertVerified(ws, url);
    const synced = await duckIds(ws, 'events');
    assert.deepEqual(synced, [1, 2, 3, 5, 6]);
    const files = listHistory(ws.parquetDir, 'events').files.map((f) => `${f.kind}:${f.seq}`);
    assert.deepEqual(files, ['batch:1', 'backfill:2', 'batch:3'], "the idle run's backfill took its number: the new pass's first batch is the next one");

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'events'), synced, `the rebuilt table holds the synced rows only (replay said: ${replayed.stdout.trim()})`);
  } finally {
    ws.cleanup();
  }
});
