/**
 * `source.hard_delete_mode: mark`: reconcile keeps the rows gone from the source and sets their
 * `_pgduck_deleted_at`; the `<target>_current` view hides them and verify does not compare them; a
 * row back in the source is unmarked by the next run; a TRUNCATE marks every row; `verify --repair`
 * marks as reconcile does. A stop between key ranges is recorded as stopped and applies nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore, type ReconcileRecord } from '../../src/state/checkpoint-store.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { checkpointDbPath, resolveSettings } from '../../src/runner/settings.js';
import { reconcilePipeline } from '../../src/repair/reconcile-pipeline.js';

const SQL = `
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON orders (updated_at, id);
INSERT INTO orders SELECT i, i * 1.5, clock_timestamp() - interval '1 hour' FROM generate_series(1, 5000) AS i;`;

/** Rows of the target: all, marked, and in the `_current` view; the marked ids and their distinct mark times. */
async function target(ws: Workspace) {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => {
      const [row] = await s.all(
        `SELECT count(*)::INT AS total, count(_pgduck_deleted_at)::INT AS marked,
           (SELECT count(*)::INT FROM orders_current) AS current,
           list(id ORDER BY id) FILTER (WHERE _pgduck_deleted_at IS NOT NULL) AS ids,
           list(DISTINCT CAST(_pgduck_deleted_at AS VARCHAR)) FILTER (WHERE _pgduck_deleted_at IS NOT NULL) AS times
         FROM orders`,
      );
      return {
        total: Number(row.total),
        marked: Number(row.marked),
        current: Number(row.current),
        ids: ((row.ids as number[] | null) ?? []).map(Number),
        times: ((row.times as string[] | null) ?? []).length,
      };
    },
    { readOnly: true },
  );
}

describe('hard_delete_mode: mark', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('deleted rows are marked, not removed; a reinserted row is unmarked; TRUNCATE marks all; verify stays equal; a stop applies nothing', async () => {
    const url = await pgs.createDatabase('reconcile_mark');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    const reconcile = async () => {
      const res = await runCli(['reconcile', 'orders', '--json'], ws.env(url));
      assert.equal(res.code, 0, res.stdout + res.stderr);
      return (JSON.parse(res.stdout) as { pipelines: ReconcileRecord[] }).pipelines[0];
    };
    const inProcess = async (shouldStop: () => boolean) => {
      const env = ws.env(url);
      const settings = resolveSettings({}, env);
      const { specs } = loadPipelines([settings.pipelinesDir], env, settings.duckdbPath);
      const store = new CheckpointStore(checkpointDbPath(settings));
      try {
        const r = await reconcilePipeline(resolvePipeline(specs[0], settings), store, { shouldStop });
        return { r, stored: store.lastReconcile('orders') };
      } finally {
        store.close();
      }
    };
    try {
      ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  hard_delete_mode: mark\ntarget:\n  table: orders\nbatch_size: 2000\n');
      await runOnce(ws, url);
      assert.deepEqual(await target(ws), { total: 5000, marked: 0, current: 5000, ids: [], times: 0 }, 'the mark column and the view from the first run');

      // 39 scattered hard deletes.
      await pgs.query(url, 'DELETE FROM orders WHERE id % 131 = 7');
      const deleted = (await pgs.query(url, 'SELECT i FROM generate_series(1, 5000) AS i WHERE i % 131 = 7 ORDER BY i')).rows.map((r) => Number(r.i));
      assert.equal(deleted.length, 39);
      const checkpoint = readCheckpoint(ws, 'orders')?.position;

      // Stopped: at once after the first pass, then at its third question (inside the narrowing): nothing applied, recorded as stopped, not failed.
      for (const asks of [1, 3]) {
        let n = 0;
        const { r, stored } = await inProcess(() => ++n >= asks);
        assert.equal(r.stopped, true, `stopped at ask ${asks}`);
        assert.equal(r.error, null);
        assert.deepEqual([r.gone, r.marked, r.removed], [0, 0, 0]);
        assert.deepEqual([stored?.stopped, stored?.error], [true, null]);
        assert.deepEqual(await target(ws), { total: 5000, marked: 0, current: 5000, ids: [], times: 0 }, 'nothing applied');
      }

      const found = await reconcile();
      assert.deepEqual([found.gone, found.marked, found.removed, found.mode, found.stopped], [39, 39, 0, 'mark', false]);
      assert.deepEqual(await target(ws), { total: 5000, marked: 39, current: 4961, ids: deleted, times: 1 });
      assert.deepEqual(readCheckpoint(ws, 'orders')?.position, checkpoint, 'the checkpoint did not move');
      await assertVerified(ws, url);
      const status = await runCli(['status'], ws.env(url));
      assert.match(status.stdout, /^ {4}reconciled \S+ \([^)]+\): 39 rows gone from the source, 39 marked$/m);
      const again = await runCli(['reconcile', 'orders'], ws.env(url));
      assert.match(again.stdout, /^✓ orders: nothing gone from the source/m, 'marked rows are not found again');

      // A deleted row back in the source: the next run unmarks it.
      await pgs.query(url, 'INSERT INTO orders VALUES (7, 99.5, clock_timestamp())');
      await runOnce(ws, url);
      assert.deepEqual(await target(ws), { total: 5000, marked: 38, current: 4962, ids: deleted.slice(1), times: 1 });
      await assertVerified(ws, url);

      // TRUNCATE: every row left is marked; those marked before keep their first time.
      await pgs.query(url, 'TRUNCATE orders');
      const truncated = await reconcile();
      assert.deepEqual([truncated.gone, truncated.marked, truncated.removed], [4962, 4962, 0]);
      const all = await target(ws);
      assert.deepEqual([all.total, all.marked, all.current, all.times], [5000, 5000, 0, 2]);
      await assertVerified(ws, url);

      // One row back after the TRUNCATE.
      await pgs.query(url, 'INSERT INTO orders VALUES (4242, 1, clock_timestamp())');
      await runOnce(ws, url);
      const back = await target(ws);
      assert.deepEqual([back.total, back.marked, back.current, back.ids.includes(4242)], [5000, 4999, 1, false]);
      await assertVerified(ws, url);

      // verify --repair marks too: it says so before, and does it.
      await pgs.query(url, 'DELETE FROM orders WHERE id = 4242');
      const told = await runCli(['verify', 'orders'], ws.env(url));
      assert.match(told.stdout, /^ {4}extra +id=4242 /m);
      assert.match(told.stdout, /would read these keys again from Postgres, write the rows it finds and mark \(_pgduck_deleted_at\) the keys it does not/);
      const repaired = await runCli(['verify', 'orders', '--repair'], ws.env(url));
      assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
      assert.match(repaired.stdout, /repair round 1: 1 key read again: 0 written, 1 marked, 0 removed/);
      const gone = await target(ws);
      assert.deepEqual([gone.total, gone.marked, gone.current, gone.ids.includes(4242)], [5000, 5000, 0, true]);
    } finally {
      ws.cleanup();
    }
  });
  test('a source column named _pgduck_deleted_at syncs as data under remove, and mark is refused before anything is loaded', async () => {
    const url = await pgs.createDatabase('reconcile_mark_clash');
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, _pgduck_deleted_at timestamptz, updated_at timestamptz NOT NULL);
       INSERT INTO items SELECT i, CASE WHEN i % 2 = 0 THEN timestamptz '2020-01-01 00:00:00+00' END, clock_timestamp() - interval '1 hour'
       FROM generate_series(1, 10) AS i;`,
    );
    const ws = createWorkspace();
    const rows = () =>
      withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all('SELECT count(*)::INT AS n FROM items WHERE _pgduck_deleted_at IS NOT NULL'))[0].n), {
        readOnly: true,
      });
    try {
      ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\n');
      await runOnce(ws, url);
      await runOnce(ws, url);
      assert.equal(await rows(), 5, 'the source values are kept, never taken for marks');
      await assertVerified(ws, url);

      ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\n  hard_delete_mode: mark\ntarget:\n  table: items\n');
      await pgs.query(url, 'UPDATE items SET updated_at = clock_timestamp() WHERE id = 1');
      const checkpoint = readCheckpoint(ws, 'items')?.position;
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.notEqual(res.code, 0);
      assert.match(res.stdout + res.stderr, /has a column "_pgduck_deleted_at", the column hard_delete_mode mark keeps its marks in/);
      assert.deepEqual(readCheckpoint(ws, 'items')?.position, checkpoint, 'the checkpoint did not move');
      const rec = await runCli(['reconcile', 'items'], ws.env(url));
      assert.equal(rec.code, 0, 'nothing gone: nothing to mark');
      assert.equal(await rows(), 5);
    } finally {
      ws.cleanup();
    }
  });
});
