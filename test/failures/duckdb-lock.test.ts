/**
 * The DuckDB file is held by another process (opened read-write, as a DuckDB CLI or a notebook
 * would). `run --once`: the pipelines writing that file fail naming the file and the holder's PID,
 * their checkpoints unmoved; a pipeline whose `target.duckdb_path` is another file syncs. `run`
 * (service): the failing pipelines are retried on their next tick and sync once the lock is gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve as resolvePath, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { createTable, writeTablePipeline } from './failure-fixture.js';
import { holdDuckDbLock } from '../support/lock-holder.js';

const holdLock = holdDuckDbLock;

describe('a DuckDB file locked by another process', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('duckdb_lock');
    for (const t of ['orders', 'items', 'elsewhere']) await createTable(server, url, t, 150);
    ws = createWorkspace();
    const every = { schedule: '* * * * * *', batchSize: 100 };
    writeTablePipeline(ws, 'orders', 'orders', every);
    writeTablePipeline(ws, 'items', 'items', every);
    writeTablePipeline(ws, 'elsewhere', 'elsewhere', { ...every, duckdbPath: join(ws.dir, 'lake', 'elsewhere.duckdb') });
    await runOnce(ws, url);
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  test('run --once: the pipelines on the locked file fail naming it and the PID; the checkpoints stay; the other file syncs', async () => {
    for (const t of ['orders', 'items', 'elsewhere']) await server.query(url, `UPDATE public.${t} SET name = 'locked run' WHERE id <= 5`);
    const before = { orders: readCheckpoint(ws, 'orders'), items: readCheckpoint(ws, 'items') };
    const holder = await holdLock(ws.duckdbPath);
    let res;
    try {
      res = await runCli(['run', '--once'], ws.env(url));
    } finally {
      await holder.release();
    }
    assert.equal(res.code, 75, 'a lock held elsewhere is transient\n' + `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /^✓ elsewhere: 5 rows/m);
    for (const name of ['orders', 'items'] as const) {
      assert.match(
        res.stdout,
        new RegExp(
          `^✗ ${name}: pipeline ${name} failed in setup: the DuckDB file ${resolvePath(ws.duckdbPath)} is locked by another process \\(node, PID ${holder.pid}\\): ` +
            'close it there \\(a DuckDB CLI, a notebook, another pgduck run, a pgduck replay\\) or let it finish; nothing was written — checkpoint not advanced; next run re-reads from .+ / 150$',
          'm',
        ),
      );
      const cp = readCheckpoint(ws, name);
      assert.deepEqual([cp?.position, cp?.batchesTotal, cp?.rowsTotal], [before[name]?.position, before[name]?.batchesTotal, before[name]?.rowsTotal]);
      assert.equal(cp?.lastStatus, 'failed');
      assert.match(cp?.lastError ?? '', new RegExp(`locked by another process \\(node, PID ${holder.pid}\\)`));
    }
  });

  test('run (service): the pipelines retry on their next tick and sync once the lock is released', async () => {
    await server.query(url, "UPDATE public.orders SET name = 'service run' WHERE id > 140");
    await server.query(url, "UPDATE public.items SET name = 'service run' WHERE id > 140");
    const holder = await holdLock(ws.duckdbPath);
    const child = spawn(process.execPath, [CLI, 'run'], { env: ws.env(url), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const failures = () => stderr.split('\n').filter((l) => l.includes('"pipeline":"orders"') && l.includes('is locked by another process')).length;
    const waitFor = async (what: string, check: () => boolean) => {
      const until = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > until) assert.fail(`timed out waiting for ${what}:\n${stderr.slice(-3000)}`);
        await sleep(100);
      }
    };
    try {
      await waitFor('two failed ticks of orders', () => failures() >= 2);
      assert.equal(readCheckpoint(ws, 'orders')?.lastStatus, 'failed');
      await holder.release();
      const failedBefore = failures();
      await waitFor('orders and items synced after the release', () => {
        const [o, i] = [readCheckpoint(ws, 'orders'), readCheckpoint(ws, 'items')];
        return o?.lastStatus === 'ok' && i?.lastStatus === 'ok' && (o?.rowsTotal ?? 0) > 150 && (i?.rowsTotal ?? 0) > 150;
      });
      assert.ok(failures() <= failedBefore + 1, 'no failures after the lock is gone (one may have been in flight)');
    } finally {
      child.kill('SIGTERM');
      await holder.release();
    }
    assert.equal(await exited, 0, stderr.slice(-2000));
    await assertVerified(ws, url);
  });
});
