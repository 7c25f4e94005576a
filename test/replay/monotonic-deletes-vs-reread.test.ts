/**
 * Found by review (a row removed by a replay onto the synced table): a key reconciled away, then inserted
 * again in the source with an old cursor (behind the checkpoint), comes back through the rewrite
 * re-read that VACUUM FULL triggers (a backfill file with `insertsMissing`). `pgduck replay events`
 * onto that table (monotonic) must change nothing; its deletes file removes the key anyway, because
 * applyDeletes only asks whether a later *batch* file holds the key (`l.batch_ord < f.order`), not
 * the later backfill file that re-inserted it; and a monotonic backfill never inserts a missing row.
 * Fixed: the per-key table of a monotonic replay records the rewrite re-reads that inserted missing
 * rows (`revive_ord`, src/replay/run-replay.ts); neither a deletes file nor an older batch applies
 * over a key one of them brought back later.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, duckIds, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a key reconciled away and brought back by a rewrite re-read: replay onto the synced table keeps it', async () => {
  const url = await pgs.createDatabase('review_monotonic_deletes');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(3));
    ws.writePipeline('events', eventsPipeline(100));
    await runOnce(ws, url); // batch 1: rows 1, 2, 3
    await pgs.query(url, 'DELETE FROM events WHERE id = 2');
    const [r] = await reconcileOnce(ws, url); // deletes/0000000002.parquet: key 2
    assert.equal(r.removed, 1);
    // Back with an old cursor (before the checkpoint): the keyset never reads it; the rewrite re-read does.
    await pgs.query(url, `INSERT INTO events VALUES (2, 'back', '2024-06-01 00:00:00+00')`);
    await pgs.query(url, 'VACUUM FULL events');
    await runOnce(ws, url); // idle run: the rewrite re-read inserts row 2 (backfill/0000000003.*.parquet)
    await assertVerified(ws, url);
    assert.deepEqual(await duckIds(ws, 'events'), [1, 2, 3]);

    const replayed = await runCli(['replay', 'events'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'events'), [1, 2, 3], `replay onto the synced table changes nothing (replay said: ${replayed.stdout.trim()})`);
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});
