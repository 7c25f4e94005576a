/**
 * Found by review: a backfill's history files are named after the batch whose drift check ran them
 * (`backfill/<seq>.…`), and an idle run (no rows) does not move the batch counter, so that seq is
 * the next one. A reconcile after it numbers its deletes file past the counter: the same seq. Within
 * one seq a deletes file sorts first (compareHistoryFiles), so `replay --drop-target` applies the
 * reconcile's removal BEFORE the backfill that actually ran earlier, and a rewrite backfill
 * (insertsMissing: it inserts the rows whose key the table lacks) put the removed row back. A repair
 * now numbers its files past the backfill files too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
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

const listing = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listing(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));

test('replay --drop-target keeps a row removed by a reconcile after a rewrite backfill of an idle run removed', async () => {
  const url = await pgs.createDatabase('replay_deletes_backfill');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(10));
    ws.writePipeline('events', eventsPipeline(100));
    await runOnce(ws, url);

    // The table is rewritten (its relfilenode moves): the next run, with no new row, re-reads every row as a rewrite backfill.
    await pgs.query(url, 'VACUUM FULL events');
    await runOnce(ws, url);
    // Then a row is hard-deleted, and reconcile removes it.
    await pgs.query(url, 'DELETE FROM events WHERE id = 5');
    const [r] = await reconcileOnce(ws, url);
    assert.equal(r.removed, 1);
    await assertVerified(ws, url);
    const history = listing(join(ws.parquetDir, 'events')).filter((f) => f.endsWith('.parquet'));
    const seqOf = (prefix: string) =>
      Number(
        history
          .find((f) => f.startsWith(prefix))
          ?.split('/')[1]
          .slice(0, 10),
      );
    assert.ok(seqOf('deletes/') > seqOf('backfill/'), `the deletes file is numbered after the backfill it followed: ${history.join(' ')}`);

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    const source = (await pgs.query(url, `SELECT array_agg(id ORDER BY id) AS ids FROM events`)).rows[0].ids as number[];
    const rebuilt = await duckIds(ws, 'events');
    assert.deepEqual(rebuilt, source);
    assert.deepEqual(
      rebuilt.filter((id) => !source.includes(id)),
      [],
      `rows replay --drop-target brought back that reconcile had removed (replay said: ${replayed.stdout.trim()})`,
    );
  } finally {
    ws.cleanup();
  }
});
