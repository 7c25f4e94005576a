/**
 * Found by review (rows lost by a rebuild, hard_delete_mode mark): a row hard-deleted in the source before a
 * `reset` (the table kept) is never read by the new pass; the reconcile after that pass marks it in
 * the synced table and writes a deletes file (mode mark) after the pass's first batch. A rebuild
 * starts at that pass, which never held the row, so the deletes file marks nothing and the marked
 * row is gone from the rebuilt table. README: "A `pgduck replay` marks the rows again from the
 * history's deletes files, with the same times" — the exception it names is rows marked *before*
 * the newest complete pass; this one was marked after it.
 * Fixed: a deletes file written under mark holds the whole rows (`deletes.rows`), and a rebuild
 * inserts, marked, those it lacks (src/repair/repair-rows.ts, src/replay/run-replay.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import type { Workspace } from '../support/workspace.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

async function rows(ws: Workspace): Promise<string[]> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) =>
      (await s.all(`SELECT id, note, _pgduck_deleted_at IS NOT NULL AS marked, _pgduck_deleted_at::VARCHAR AS at FROM events ORDER BY id`)).map((r) =>
        JSON.stringify(r),
      ),
    { readOnly: true },
  );
}

test('hard_delete_mode mark: a row deleted before a reset and marked by the reconcile after the new pass is in the rebuilt table, marked', async () => {
  const url = await pgs.createDatabase('review_mark_after_reset');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(5));
    ws.writePipeline('events', eventsPipeline(100, { source: '  hard_delete_mode: mark\n' }));
    await runOnce(ws, url); // batch 1
    await pgs.query(url, 'DELETE FROM events WHERE id = 3');
    const reset = await runCli(['reset', 'events'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr);
    await runOnce(ws, url); // batch 2: the new pass (rows 1, 2, 4, 5); the table keeps row 3
    const [r] = await reconcileOnce(ws, url); // marks 3: deletes/0000000003.parquet
    assert.equal(r.marked, 1);
    await assertVerified(ws, url);
    const synced = await rows(ws);
    assert.equal(synced.filter((x) => JSON.parse(x).marked).length, 1, 'the synced table holds row 3, marked');

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await rows(ws), synced, `the rebuilt table is the synced table (replay said: ${replayed.stdout.trim()})`);
  } finally {
    ws.cleanup();
  }
});
