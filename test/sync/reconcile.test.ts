/**
 * `pgduck reconcile`: rows hard-deleted or truncated in the source leave DuckDB; rows the target has
 * not loaded yet are left to the next run; the checkpoint never moves; the outcome is recorded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

const SQL = `
CREATE TABLE orders (region text NOT NULL, id int NOT NULL, amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL,
  PRIMARY KEY (region, id));
CREATE INDEX ON orders (updated_at, region, id);
INSERT INTO orders SELECT (ARRAY['eu','us','apac'])[1 + i % 3], i, i * 1.5, clock_timestamp() - interval '1 hour'
FROM generate_series(1, 5000) AS i;`;

describe('pgduck reconcile', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('hard deletes and a TRUNCATE are removed; unsynced inserts are left to the run; the checkpoint stays', async () => {
    const url = await pgs.createDatabase('reconcile');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    const count = async () => Number((await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT count(*)::INT AS n FROM orders'), { readOnly: true }))[0].n);
    const last = () => {
      const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
      try {
        return store.lastReconcile('orders');
      } finally {
        store.close();
      }
    };
    const reconcile = async () => {
      const res = await runCli(['reconcile', 'orders', '--json'], ws.env(url));
      assert.equal(res.code, 0, res.stdout + res.stderr);
      return (JSON.parse(res.stdout) as { pipelines: NonNullable<ReturnType<typeof last>>[] }).pipelines[0];
    };
    try {
      ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: [region, id]\ntarget:\n  table: orders\nbatch_size: 2000\n');
      await runOnce(ws, url);
      assert.equal(await count(), 5000);

      // Idle: one read of the keys on each side, nothing narrowed, nothing removed.
      const idle = await reconcile();
      assert.deepEqual([idle.gone, idle.removed, idle.sourceKeys, idle.targetKeys, idle.rowsRead], [0, 0, 5000, 5000, 10000]);

      // 39 scattered hard deletes, and an insert the run has not loaded yet.
      await pgs.query(url, `DELETE FROM orders WHERE id % 131 = 7`);
      await pgs.query(url, `INSERT INTO orders VALUES ('eu', 9001, 1, clock_timestamp() - interval '30 minutes')`);
      const deleted = 5000 - Number((await pgs.query(url, `SELECT count(*) AS n FROM orders WHERE id <= 5000`)).rows[0].n);
      assert.equal(deleted, 39);
      const checkpoint = readCheckpoint(ws, 'orders')?.position;
      const found = await reconcile();
      assert.equal(found.gone, 39);
      assert.equal(found.removed, 39);
      assert.ok(found.rowsRead < 10000 + 39 * 400, `narrowed, not dumped: ${found.rowsRead} key rows read`);
      assert.equal(await count(), 5000 - 39, 'the unsynced insert is not written by reconcile');
      assert.deepEqual(readCheckpoint(ws, 'orders')?.position, checkpoint, 'the checkpoint did not move');
      assert.deepEqual(last()?.removed, 39);
      const status = await runCli(['status'], ws.env(url));
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^ {4}reconciled \S+ \([^)]+\): 39 rows gone from the source, 39 removed$/m);
      await runOnce(ws, url);
      await assertVerified(ws, url);

      // TRUNCATE: every key is gone.
      await pgs.query(url, `TRUNCATE orders`);
      const truncated = await reconcile();
      assert.equal(truncated.removed, 5000 - 39 + 1);
      assert.equal(await count(), 0);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
});
