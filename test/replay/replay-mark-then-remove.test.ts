/**
 * Found by review: a pipeline switched from `hard_delete_mode: mark` back to `remove`. Its next run deletes
 * the rows reconcile had marked (drift-check.ts), as README says. `pgduck replay --drop-target`
 * rebuilds the table from the history: its deletes files (mode mark) mark those rows again, and
 * nothing removes them under `remove`, so the rebuilt table holds rows the synced table no longer
 * has and the source never had since (verify: `extra`). Replay now removes the marked rows at its
 * end when the pipeline is at `remove`, as the drift check does.
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

test('replay --drop-target after a switch from hard_delete_mode mark to remove rebuilds the table the runner holds', async () => {
  const url = await pgs.createDatabase('replay_mark_remove');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(10));
    const file = (mode: string) => eventsPipeline(100, { source: `  hard_delete_mode: ${mode}\n` });
    ws.writePipeline('events', file('mark'));
    await runOnce(ws, url);
    await pgs.query(url, 'DELETE FROM events WHERE id IN (3, 7)');
    const [r] = await reconcileOnce(ws, url);
    assert.equal(r.marked, 2);

    // Back to remove: the next run deletes the marked rows.
    ws.writePipeline('events', file('remove'));
    await pgs.query(url, `UPDATE events SET note = 'changed', updated_at = '2025-02-01 00:00:00+00' WHERE id = 1`);
    await runOnce(ws, url);
    await assertVerified(ws, url);
    const synced = await duckIds(ws, 'events');
    assert.deepEqual(synced, [1, 2, 4, 5, 6, 8, 9, 10]);

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    const rebuilt = await duckIds(ws, 'events');
    assert.deepEqual(rebuilt, synced);
    assert.match(replayed.stdout, /2 removed/);
    await assertVerified(ws, url);
    assert.deepEqual(
      rebuilt.filter((id) => !synced.includes(id)),
      [],
      `rows the rebuilt table holds that the synced table had removed (replay said: ${replayed.stdout.trim()})`,
    );
  } finally {
    ws.cleanup();
  }
});
