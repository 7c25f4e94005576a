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
import { CheckpointStore, type ReconcileRecord } from '../../src/state/checkpoint-store.js';

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
      // What crossed the wire from Postgres row by row: each delete lies in a part of at most 8 of the
      // target's keys when its rows are fetched (verify-table.ts cuts differing leaves of ~125 rows
      // again), so at most 8 keys per delete, against ~125 per delete (the whole leaf) before.
      assert.ok((found.sourceRowsFetched ?? Number.POSITIVE_INFINITY) <= 39 * 8, `keys sent by Postgres: ${found.sourceRowsFetched}`);
      assert.equal(idle.sourceRowsFetched, 0, 'idle: aggregates only');
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

  test('1,000 hard deletes scattered through 200,000 rows: found and removed, Postgres sending far fewer keys than the table holds', async () => {
    const url = await pgs.createDatabase('reconcile_scattered');
    await pgs.query(
      url,
      `CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT i, md5(i::text), clock_timestamp() - interval '1 hour' FROM generate_series(1, 200000) AS i;`,
    );
    const ws = createWorkspace();
    try {
      ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\ntarget:\n  table: events\nbatch_size: 50000\n');
      await runOnce(ws, url);
      await pgs.query(url, `DELETE FROM events WHERE id IN (SELECT i * 200 - 37 FROM generate_series(1, 1000) AS i)`);
      const res = await runCli(['reconcile', 'events', '--json'], ws.env(url));
      assert.equal(res.code, 0, res.stdout + res.stderr);
      const r = (JSON.parse(res.stdout) as { pipelines: ReconcileRecord[] }).pipelines[0];
      assert.deepEqual([r.gone, r.removed, r.sourceKeys, r.targetKeys], [1000, 1000, 199_000, 200_000]);
      // Postgres hashes its 199,000 keys once, then again only the rows of the ~1,000 differing parts
      // of ~128 keys (at most one more table's worth); it sends back at most 8 keys per delete (the
      // differing parts cut once more, verify-table.ts), where it sent every key of every differing
      // part (~127,000, measured) before: at most 8,000 of 200,000.
      assert.ok((r.sourceRowsHashed ?? 0) <= 2 * 199_000, `rows Postgres hashed: ${r.sourceRowsHashed}`);
      assert.ok((r.sourceRowsFetched ?? Number.POSITIVE_INFINITY) <= 8 * 1000, `keys Postgres sent: ${r.sourceRowsFetched}`);
      const [{ n }] = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT count(*)::INT AS n FROM events'), { readOnly: true });
      assert.equal(n, 199_000);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
});
