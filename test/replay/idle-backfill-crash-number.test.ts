/**
 * Found by the review of this stop's changes (crash hole in aa52d50's fix 1, src/stages/checkpoint.ts): an idle run's empty batch that ran a
 * rewrite re-read now takes its number, but only in its checkpoint write, deferred to the row group's
 * commit, while the re-read's files are written and committed in DuckDB (and the backfill finished in
 * the state store) before it. A crash in between (PGDUCK_FAULT=after-backfill) leaves the backfill file
 * under a number the state store never took; the next run has nothing left to re-read (idle, no
 * number taken), so after `reset --drop-target` the new pass's first batch takes that number again and
 * the rebuild applies the older re-read beside it: the row deleted before the reset comes back.
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

test('an idle rewrite re-read killed before its checkpoint, reset --drop-target, a run: replay --drop-target keeps a row deleted before the reset out', async () => {
  const url = await pgs.createDatabase('review_idle_backfill_crash');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(6));
    ws.writePipeline('events', eventsPipeline(100));
    await runOnce(ws, url); // batch 1: rows 1…6
    await pgs.query(url, 'VACUUM FULL events');
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-backfill' });
    assert.equal(killed.signal, 'SIGKILL', `the idle run is killed after its re-read (code ${killed.code}): ${killed.stderr.slice(-800)}`);
    await runOnce(ws, url); // after the crash
    await pgs.query(url, 'DELETE FROM events WHERE id = 4');
    const reset = await runCli(['reset', 'events', '--drop-target'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr);
    await runOnce(ws, url); // the new bootstrap: rows 1,2,3,5,6
    await assertVerified(ws, url);
    const synced = await duckIds(ws, 'events');
    assert.deepEqual(synced, [1, 2, 3, 5, 6]);
    const files = listHistory(ws.parquetDir, 'events').files.map((f) => `${f.kind}:${f.seq}`);

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(
      await duckIds(ws, 'events'),
      synced,
      `the rebuilt table holds the synced rows only (history: ${files.join(', ')}; replay said: ${replayed.stdout.trim()})`,
    );
  } finally {
    ws.cleanup();
  }
});
