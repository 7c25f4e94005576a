/**
 * Found by the review of this stop's changes (regression of aa52d50, run-replay.ts revive_ord): a monotonic replay now skips, for every key,
 * a batch file when a later rewrite re-read (a backfill file with insertsMissing, which VACUUM FULL
 * triggers) holds the key; but a monotonic replay applies that re-read with updateFrom(toOrder !== null),
 * which never inserts a missing row. A rewrite re-read holds every row of the table, so a replay with an
 * explicit range (`--to`, monotonic even into a dropped/empty table) whose range holds such a re-read
 * inserts none of the rows the batches before it hold: the rebuilt table is empty.
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

test('replay --drop-target --to <the rewrite re-read>: every row of the batches before it is there', async () => {
  const url = await pgs.createDatabase('review_mono_reread');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(3));
    ws.writePipeline('events', eventsPipeline(100));
    await runOnce(ws, url); // batch 1: rows 1, 2, 3
    await pgs.query(url, `INSERT INTO events VALUES (4, 'n4', now() - interval '1 hour')`);
    await runOnce(ws, url); // batch 2: row 4
    await pgs.query(url, 'VACUUM FULL events');
    await runOnce(ws, url); // the rewrite re-read: backfill file with insertsMissing (rows 1-4)
    await assertVerified(ws, url);
    assert.deepEqual(await duckIds(ws, 'events'), [1, 2, 3, 4]);
    const files = listHistory(ws.parquetDir, 'events').files;
    assert.ok(
      files.some((f) => f.kind === 'backfill'),
      'the rewrite re-read wrote its file',
    );
    const last = Math.max(...files.map((f) => f.seq));

    const replayed = await runCli(['replay', 'events', '--drop-target', '--to', String(last)], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'events'), [1, 2, 3, 4], `replay --to ${last} into a dropped table (replay said: ${replayed.stdout.trim()})`);
  } finally {
    ws.cleanup();
  }
});
