/**
 * `pgduck run` as a service people can leave running (issue #13), against real Postgres and real
 * DuckDB files:
 *
 * - a wrong password is one blocked state: one connection attempt however many ticks pass (counted
 *   by a TCP proxy), status says blocked with the fix, the other pipeline keeps syncing; fixing the
 *   file unblocks it at once (the file watcher, the poll being off);
 * - Postgres going away mid-bootstrap (the proxy cuts every connection and refuses new ones): the
 *   pipeline backs off (status says until when), the other one keeps syncing, and when the server is
 *   back it recovers on its retry timer, not its cron tick (which is yearly here); verify is equal;
 * - a second runner on the same state directory is refused, naming the holder's pid and host;
 * - logs on a pseudo-terminal are pretty, and a run that changes nothing logs nothing at INFO.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { createTable, writeTablePipeline } from '../failures/failure-fixture.js';
import { startProxy, type TcpProxy } from './tcp-proxy.js';
import type { PipelineStatus } from '../../src/report/status-view.js';
import { listHistory } from '../../src/parquet/history-files.js';

const RIGHT = 'Svc-R1ght-91';
const WRONG = 'Svc-Wr0ng-92';
const NEVER = '0 0 1 1 *'; // yearly: a test never waits for this tick

interface Service {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<number | null>;
}

function startService(env: NodeJS.ProcessEnv): Service {
  const child = spawn(process.execPath, [CLI, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, context: () => string = () => '', timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await sleep(100);
  }
}

const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; pipeline?: string; error?: { kind: string; code: string } });

async function status(ws: Workspace, url: string): Promise<Map<string, PipelineStatus>> {
  const res = await runCli(['status', '--json'], ws.env(url));
  assert.equal(res.code, 0, res.stderr);
  return new Map((JSON.parse(res.stdout).pipelines as PipelineStatus[]).map((p) => [p.pipeline, p]));
}

describe('the service', () => {
  let pg: TestPostgres;
  let url: string;
  const role = `svc_app_${process.pid}`;
  let proxy: TcpProxy;
  const as = (base: string, password: string) => {
    const u = new URL(base);
    u.username = role;
    u.password = encodeURIComponent(password);
    return u.toString();
  };

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('service_retry');
    await createTable(pg, url, 'steady', 40);
    await createTable(pg, url, 'refunds', 30);
    await createTable(pg, url, 'big', 6000);
    await pg.query(
      url,
      `CREATE ROLE ${role} LOGIN PASSWORD '${RIGHT}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}; GRANT pg_read_all_stats TO ${role}`,
    );
    proxy = await startProxy(url);
  });
  after(async () => {
    await proxy?.close();
    await pg?.query(pg.url, `DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await pg?.stop();
  });

  test('a wrong password blocks that pipeline once (no retry storm), the other syncs on; a second runner is refused; a fixed file unblocks it', async () => {
    const ws = createWorkspace();
    writeTablePipeline(ws, 'steady', 'steady', { schedule: '* * * * * *' });
    writeTablePipeline(ws, 'refunds', 'refunds', { connection: as(proxy.url(url), WRONG), schedule: '* * * * * *' });
    const before = proxy.connections();
    // Fast retries and no probe: only a changed file may run it again. The poll is off: only the watcher reloads.
    const env = { ...ws.env(url), PGDUCK_RETRY_BASE_MS: '50', PGDUCK_BLOCKED_RETRY_SECONDS: '0', PGDUCK_RELOAD_SECONDS: '0' };
    const svc = startService(env);
    try {
      await waitFor('steady synced', () => readCheckpoint(ws, 'steady')?.rowsTotal === 40, svc.stderr);
      await waitFor('refunds blocked', async () => (await status(ws, url)).get('refunds')?.state === 'blocked', svc.stderr);
      // Several ticks of both pipelines go by: steady picks up two later changes, refunds tries nothing.
      for (const id of [1, 2]) {
        await pg.query(url, `UPDATE public.steady SET name = 'tick ${id}' WHERE id = ${id}`);
        await waitFor(`change ${id} synced`, () => (readCheckpoint(ws, 'steady')?.rowsTotal ?? 0) >= 40 + id, svc.stderr);
      }
      assert.equal(proxy.connections() - before, 1, 'one connection attempt for the wrong password, however many ticks');

      const s = await status(ws, url);
      const refunds = s.get('refunds')!;
      assert.equal(refunds.summary, 'blocked (config AUTH_FAILED)');
      assert.deepEqual([refunds.lastError?.kind, refunds.lastError?.code], ['config', 'AUTH_FAILED']);
      assert.match(refunds.lastError?.fix ?? '', /check the password/);
      assert.equal(refunds.nextRun, null);
      assert.equal(s.get('steady')?.state === 'idle' || s.get('steady')?.state === 'running', true);
      assert.equal(s.get('steady')?.rowsInTarget, 40, 'rows in the target, counted by the runner');
      const text = await runCli(['status'], ws.env(url));
      assert.match(text.stdout, /^refunds +blocked \(config AUTH_FAILED\)/m);
      assert.match(text.stdout, /^ {4}fix: check the password/m);
      assert.match(text.stdout, new RegExp(`^runner: pgduck run, pid ${svc.child.pid} on `, 'm'));
      for (const line of text.stdout.trimEnd().split('\n')) assert.ok(line.length <= 100, `status wider than 100 columns: ${line}`);
      for (const out of [text.stdout, JSON.stringify([...s.values()]), svc.stderr()])
        assert.ok(!out.includes(WRONG) && !out.includes(RIGHT), 'no password printed');

      const errors = logLines(svc.stderr()).filter((l) => l.pipeline === 'refunds' && l.level >= 40);
      assert.equal(errors.length, 1, `the blocked state is logged once:\n${svc.stderr().slice(-3000)}`);

      // A second runner on the same state directory: refused, naming the holder.
      const second = await runCli(['run', '--once'], env);
      assert.equal(second.code, 75, second.stdout + second.stderr);
      assert.match(second.stderr, new RegExp(`another pgduck run \\(pid ${svc.child.pid} on host ${hostname()}, since [^)]+\\) holds .*pgduck-run\\.lock`));

      // The file fixed: the watcher reloads it, and it runs at once (it was blocked).
      writeTablePipeline(ws, 'refunds', 'refunds', { connection: as(proxy.url(url), RIGHT), schedule: '* * * * * *' });
      await waitFor('refunds synced after the fix', () => readCheckpoint(ws, 'refunds')?.rowsTotal === 30, svc.stderr);
      await waitFor('refunds idle', async () => ['idle', 'running'].includes((await status(ws, url)).get('refunds')?.state ?? ''), svc.stderr);
      assert.match(svc.stderr(), /"trigger":"file change".*pipelines reloaded/);
    } finally {
      assert.equal(await svc.stop(), 0, svc.stderr().slice(-2000));
    }
    const after = await status(ws, url);
    assert.equal(after.get('steady')?.state, 'idle', 'a stopped runner leaves no live state behind');
    await assertVerified(ws, url);
    ws.cleanup();
  });

  test('Postgres gone mid-bootstrap: the pipeline backs off, the other syncs on, it recovers on its retry timer; verify equal', async () => {
    const ws = createWorkspace();
    writeTablePipeline(ws, 'steady', 'steady', { schedule: '* * * * * *' });
    writeTablePipeline(ws, 'big', 'big', { connection: as(proxy.url(url), RIGHT), batchSize: 200, schedule: NEVER });
    const env = { ...ws.env(url), PGDUCK_RETRY_BASE_MS: '200', PGDUCK_RETRY_MAX_SECONDS: '2' };
    const svc = startService(env);
    try {
      // Batch files, not the checkpoint: a bootstrap's batches share one DuckDB transaction (a row group) and their
      // checkpoints are written at its commit, which for these 6,000 rows is the end (src/runner/row-group.ts).
      await waitFor('a few batches of big', () => listHistory(ws.parquetDir, 'big').files.length >= 3, svc.stderr);
      await proxy.down();
      // Asserted on the very snapshot that showed backing-off: a second status call could catch the retry running.
      let backingOff: PipelineStatus | undefined;
      await waitFor(
        'big backing off',
        async () => {
          backingOff = (await status(ws, url)).get('big');
          return backingOff?.state === 'backing-off';
        },
        svc.stderr,
      );
      const s = backingOff!;
      assert.equal(s.lastError?.kind, 'transient');
      assert.ok(s.retryAt && s.nextRun === s.retryAt, 'the next run is the retry');
      const mid = readCheckpoint(ws, 'big')!;
      assert.ok(mid.rowsTotal < 6000, 'stopped mid-bootstrap');
      // While big waits, steady keeps syncing.
      await pg.query(url, "UPDATE public.steady SET name = 'while big is down' WHERE id = 9");
      await waitFor('steady synced meanwhile', async () => (readCheckpoint(ws, 'steady')?.rowsTotal ?? 0) >= 41, svc.stderr);
      await waitFor('a few failed retries', async () => ((await status(ws, url)).get('big')?.attempts ?? 0) >= 3, svc.stderr);
      await proxy.up();
      await waitFor('big drained after the outage', () => readCheckpoint(ws, 'big')?.rowsTotal === 6000, svc.stderr);
      await waitFor('the recovery line', () => /"pipeline":"big".*recovered after/.test(svc.stderr()), svc.stderr);
      const logs = logLines(svc.stderr()).filter((l) => l.pipeline === 'big');
      const attempts = (await status(ws, url)).get('big');
      assert.ok(attempts?.state === 'idle' || attempts?.state === 'running');
      assert.ok(
        logs.some((l) => /recovered after \d+ failed attempts?/.test(l.msg)),
        `the recovery is logged:\n${logs.map((l) => `${l.level} ${l.msg}`).join('\n')}`,
      );
      const loud = logs.filter((l) => l.level >= 40);
      const failures = logs.filter((l) => l.error?.kind === 'transient');
      assert.ok(loud.length < failures.length || failures.length <= 2, 'not one loud line per attempt');
      assert.ok(loud.length <= 1 + Math.ceil(Math.log2(failures.length + 1)) + 2, `too many loud lines: ${loud.length}`);
    } finally {
      await proxy.up().catch(() => {});
      assert.equal(await svc.stop(), 0, svc.stderr().slice(-2000));
    }
    await assertVerified(ws, url);
    ws.cleanup();
  });

  test('logs on a pseudo-terminal are pretty (no JSON), one INFO line per run with rows, bytes and stage timings', { skip: !hasScript() }, async () => {
    const ws = createWorkspace();
    writeTablePipeline(ws, 'steady', 'steady', { batchSize: 10 });
    const { PGDUCK_LOG_FORMAT: _json, ...env } = ws.env(url);
    const res = spawnSync('script', ['-qefc', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} run --once`, '/dev/null'], { env, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stdout + res.stderr);
    assert.ok(!/\{"level"/.test(res.stdout), `JSON on a terminal:\n${res.stdout}`);
    assert.match(res.stdout, /INFO.*pipeline synced/);
    assert.ok(!/batch applied/.test(res.stdout), 'per batch only at DEBUG');
    // Piped: JSON, and exactly one INFO line for the run, carrying rows, bytes and stage timings.
    await pg.query(url, "UPDATE public.steady SET name = 'piped' WHERE id <= 15");
    const piped = await runCli(['run', '--once'], ws.env(url));
    const synced = logLines(piped.stderr).filter((l) => l.msg === 'pipeline synced') as unknown as {
      rows: number;
      bytes: number;
      batches: number;
      stages: Record<string, number>;
    }[];
    assert.equal(synced.length, 1);
    assert.equal(synced[0].rows, 15);
    assert.equal(synced[0].batches, 2);
    assert.ok(synced[0].bytes > 0);
    for (const stage of ['read', 'parquet', 'drift-check', 'upsert', 'checkpoint']) assert.equal(typeof synced[0].stages[stage], 'number', stage);
    const quiet = await runCli(['run', '--once'], ws.env(url));
    assert.ok(!logLines(quiet.stderr).some((l) => l.level >= 30 && /pipeline/.test(l.msg)), `nothing to do is not INFO:\n${quiet.stderr}`);
    ws.cleanup();
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}
