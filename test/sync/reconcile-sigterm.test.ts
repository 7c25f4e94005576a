/**
 * `pgduck reconcile` stopped by SIGTERM, as a process: the real CLI is paused mid-pass (PGDUCK_PAUSE
 * at `mid-compare`, src/faults/fault-point.ts: after the first digest pass, before it narrows into a
 * key range), the test sends SIGTERM there, and the process exits 75 with nothing applied (the
 * table's rows and checksum unchanged, no deletes file, the checkpoint where it was), recorded as
 * stopped in `status --json`; a second reconcile finishes the job and verify finds the table equal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { listHistory } from '../../src/parquet/history-files.js';
import type { ReconcileRecord } from '../../src/state/checkpoint-store.js';

const SQL = `
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON orders (updated_at, id);
INSERT INTO orders SELECT i, i * 1.5, clock_timestamp() - interval '1 hour' FROM generate_series(1, 20000) AS i;`;

/** Row count and an order-independent checksum of every row of the target. */
async function tableSum(ws: Workspace): Promise<{ rows: number; sum: string }> {
  const [r] = await withDuckDbFile(
    ws.duckdbPath,
    (s) => s.all(`SELECT count(*)::INT AS rows, CAST(sum(hash(id, amount, updated_at)) AS VARCHAR) AS sum FROM orders`),
    { readOnly: true },
  );
  return { rows: Number(r.rows), sum: String(r.sum) };
}

/** Run `pgduck reconcile` until it says it is paused, send SIGTERM, and wait for it to end. */
function reconcileStoppedMidPass(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; paused: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'reconcile', 'orders', '--json'], {
      env: { ...env, PGDUCK_PAUSE: 'mid-compare:2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let paused = false;
    // A safety net only (a CLI that never pauses): the test does not wait on time otherwise.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!paused && stderr.includes('PGDUCK_PAUSE: paused at mid-compare')) {
        paused = true;
        child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, paused });
    });
  });
}

describe('pgduck reconcile and SIGTERM', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('a SIGTERM mid-pass exits 75 with nothing applied, recorded as stopped; the next reconcile finishes', async () => {
    const url = await pgs.createDatabase('reconcile_sigterm');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5000\n');
      await runOnce(ws, url);
      // 300 hard deletes scattered over the whole key range: many differing ranges to narrow into.
      await pgs.query(url, `DELETE FROM orders WHERE id % 67 = 5`);
      const deleted = 20000 - Number((await pgs.query(url, 'SELECT count(*) AS n FROM orders')).rows[0].n);
      assert.equal(deleted, 299);
      const before = await tableSum(ws);
      const checkpoint = readCheckpoint(ws, 'orders');

      const stopped = await reconcileStoppedMidPass(ws.env(url));
      assert.ok(stopped.paused, `the reconcile never reached the pause point:\n${stopped.stderr}`);
      assert.equal(stopped.code, 75, `exit code: ${stopped.code}\n${stopped.stdout}\n${stopped.stderr}`);
      assert.match(stopped.stderr, /stopping: the reconcile in flight ends at its next key range/);
      const record = (JSON.parse(stopped.stdout) as { pipelines: ReconcileRecord[] }).pipelines[0];
      assert.deepEqual([record.stopped, record.gone, record.removed, record.error], [true, 0, 0, null]);

      // Nothing partly applied: the same rows, the same values, no deletes file, the checkpoint where it was.
      assert.deepEqual(await tableSum(ws), before);
      assert.equal(listHistory(ws.parquetDir, 'orders').files.filter((f) => f.kind === 'deletes').length, 0);
      assert.deepEqual(readCheckpoint(ws, 'orders'), checkpoint);

      const status = await runCli(['status', '--json'], ws.env(url));
      assert.equal(status.code, 0, status.stderr);
      const shown = JSON.stringify(JSON.parse(status.stdout));
      assert.match(shown, /"lastReconcile":\{[^}]*"stopped":true/);

      // The next reconcile does the whole job.
      const again = await runCli(['reconcile', 'orders', '--json'], ws.env(url));
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const done = (JSON.parse(again.stdout) as { pipelines: ReconcileRecord[] }).pipelines[0];
      assert.deepEqual([done.stopped, done.gone, done.removed], [false, deleted, deleted]);
      assert.equal((await tableSum(ws)).rows, 20000 - deleted);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
});
