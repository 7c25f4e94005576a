/**
 * `pgduck run --listen` on real Postgres and real DuckDB files (issue #13, "Metrics and health"):
 *
 * - after the bootstrap, /metrics (parsed as Prometheus text) counts exactly the rows in the DuckDB
 *   table and in the checkpoint, the checkpoint's batches, and the bytes of the Parquet files on disk;
 * - the source table dropped: the pipeline is blocked, and once past PGDUCK_HEALTH_BLOCKED_SECONDS
 *   /healthz answers 503 naming it and its code, while the other pipeline stays fine;
 * - its file removed: its series leave /metrics and /healthz is 200 again; SIGTERM stops cleanly;
 * - a malformed address exits 2, an address in use exits 3 (LISTEN_UNAVAILABLE), nothing run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint } from '../support/sync-checks.js';
import { createTable, writeTablePipeline } from '../failures/failure-fixture.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { parsePrometheusText, sampleValue, select, type Exposition } from '../support/prometheus-text.js';

let pg: TestPostgres;
let url: string;
const ITEMS = 2345;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('service_metrics');
  await createTable(pg, url, 'items', ITEMS);
  await createTable(pg, url, 'steady', 40);
});
after(async () => {
  await pg?.stop();
});

async function waitFor(what: string, check: () => boolean | Promise<boolean>, context: () => string = () => '', timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await sleep(100);
  }
}

/** Every file under a directory, recursively, with its size. */
function parquetBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? parquetBytes(join(dir, e.name)) : e.name.endsWith('.parquet') ? statSync(join(dir, e.name)).size : 0),
    0,
  );
}

/** The DuckDB file, read-only (retried while another process still holds it). */
async function duckCount(ws: Workspace, table: string): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      return await withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all(`SELECT count(*)::BIGINT AS n FROM ${table}`))[0].n), { readOnly: true });
    } catch (err) {
      if (i > 200) throw err;
      await sleep(50);
    }
  }
}

interface HealthBody {
  status: string;
  blocked: { pipeline: string; kind: string; code: string }[];
  pipelines: { pipeline: string; state: string }[];
}

/** `pgduck run --listen 127.0.0.1:<port>` in the workspace, with its scrape and health check. */
function startService(env: NodeJS.ProcessEnv, port: number) {
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [CLI, 'run', '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    logs: () => stderr,
    async scrape(): Promise<Exposition> {
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      return parsePrometheusText(await res.text());
    },
    async healthz(): Promise<{ status: number; body: HealthBody }> {
      const res = await fetch(`${base}/healthz`);
      return { status: res.status, body: (await res.json()) as HealthBody };
    },
    async stop(): Promise<void> {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      assert.equal(await exited, 0, stderr.slice(-2000));
      clearTimeout(timer);
    },
  };
}

test('/metrics counts the rows, batches and Parquet bytes synced; /healthz turns 503 naming a blocked pipeline; a removed pipeline loses its series', async () => {
  const ws = createWorkspace();
  writeTablePipeline(ws, 'items', 'items', { batchSize: 500, schedule: '*/2 * * * * *' });
  writeTablePipeline(ws, 'steady', 'steady', { schedule: '*/2 * * * * *' });
  const port = await freePort();
  const env = { ...ws.env(url), PGDUCK_HEALTH_BLOCKED_SECONDS: '1', PGDUCK_RELOAD_SECONDS: '1' };
  let svc = startService(env, port);
  try {
    // The bootstrap is over when its run has ended: the run counter moves after the last batch.
    await waitFor(
      'the bootstrap of items',
      async () => sampleValue(await svc.scrape(), 'pgduck_runs_total', { pipeline: 'items', outcome: 'ok' }) >= 1,
      svc.logs,
    );
    const m = await svc.scrape();
    const checkpoint = readCheckpoint(ws, 'items')!;
    const rows = sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'items' });
    assert.equal(rows, ITEMS);
    assert.equal(rows, checkpoint.rowsTotal, 'the checkpoint');
    assert.equal(sampleValue(m, 'pgduck_batches_total', { pipeline: 'items' }), checkpoint.batchesTotal);
    assert.equal(checkpoint.batchesTotal, Math.ceil(ITEMS / 500));
    const bytes = sampleValue(m, 'pgduck_parquet_bytes_written_total', { pipeline: 'items' });
    assert.ok(bytes > 0);
    assert.equal(bytes, parquetBytes(join(ws.parquetDir, 'items')), 'the Parquet files on disk');
    assert.equal(sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'steady' }), 40);
    assert.equal(select(m, 'pgduck_errors_total', { pipeline: 'items' }).length, 0, 'no error yet');
    const lag = sampleValue(m, 'pgduck_lag_seconds', { pipeline: 'items' });
    assert.ok(lag >= 0 && lag < 3600, `lag ${lag}: the rows were written when the test started`);
    const lastSuccess = sampleValue(m, 'pgduck_last_success_timestamp_seconds', { pipeline: 'items' });
    assert.ok(lastSuccess > 0);
    assert.ok(sampleValue(m, 'pgduck_stage_duration_seconds_count', { pipeline: 'items', stage: 'upsert' }) >= 1);
    assert.equal(sampleValue(m, 'pgduck_healthy'), 1);
    const ok = await svc.healthz();
    assert.equal(ok.status, 200);
    assert.equal(ok.body.status, 'ok');
    assert.deepEqual(
      ok.body.pipelines.map((p) => p.pipeline),
      ['items', 'steady'],
    );

    // The source table dropped while no run is in flight (a drop in the middle of a run can fail it
    // in another stage first): the service restarted on the same files finds it gone at the first run.
    await svc.stop();
    // Counted with the service stopped: a read of the file while it runs can collide with a tick,
    // which then fails as DUCKDB_LOCKED (transient, retried) and is recorded as the last run.
    assert.equal(rows, await duckCount(ws, 'items'), 'the DuckDB table');
    await pg.query(url, 'DROP TABLE public.items');
    svc = startService(env, port);
    // Blocked (needs-action), and unhealthy once blocked for more than 1 s.
    await waitFor('/healthz 503', async () => (await svc.healthz()).status === 503, svc.logs);
    const bad = await svc.healthz();
    assert.equal(bad.body.status, 'blocked');
    assert.deepEqual(
      bad.body.blocked.map((b) => [b.pipeline, b.kind, b.code]),
      [['items', 'needs-action', 'SOURCE_TABLE_MISSING']],
    );
    assert.equal(bad.body.pipelines.find((p) => p.pipeline === 'steady')?.state === 'blocked', false);
    const blocked = await svc.scrape();
    assert.equal(sampleValue(blocked, 'pgduck_healthy'), 0);
    assert.equal(sampleValue(blocked, 'pgduck_pipeline_state', { pipeline: 'items', state: 'blocked' }), 1);
    assert.equal(sampleValue(blocked, 'pgduck_errors_total', { pipeline: 'items', kind: 'needs-action', code: 'SOURCE_TABLE_MISSING' }), 1);
    // Counters are this process's; the last success and the lag start from the state store.
    assert.equal(sampleValue(blocked, 'pgduck_rows_synced_total', { pipeline: 'items' }), 0);
    const seeded = sampleValue(blocked, 'pgduck_last_success_timestamp_seconds', { pipeline: 'items' });
    assert.ok(seeded >= lastSuccess - 1 && seeded <= Date.now() / 1000, `the last success before the restart: ${seeded} (${lastSuccess} seen then)`);
    assert.ok(sampleValue(blocked, 'pgduck_lag_seconds', { pipeline: 'items' }) >= lag, 'the lag from the checkpoint');

    // Its file removed: its series go, and the service is healthy again.
    rmSync(join(ws.pipelinesDir, 'items.yml'));
    await waitFor('the series of items gone', async () => (await svc.scrape()).samples.every((s) => s.labels.pipeline !== 'items'), svc.logs);
    assert.equal((await svc.healthz()).status, 200);
    assert.ok(select(await svc.scrape(), 'pgduck_rows_synced_total', { pipeline: 'steady' }).length === 1);
  } finally {
    await svc.stop();
  }
  ws.cleanup();
});

test('a malformed --listen exits 2, an address in use exits 3 (LISTEN_UNAVAILABLE); nothing is run', async () => {
  const ws = createWorkspace();
  writeTablePipeline(ws, 'steady', 'steady');
  const malformed = await runCli(['run', '--listen', '127.0.0.1'], ws.env(url));
  assert.equal(malformed.code, 2, malformed.stderr);
  assert.match(malformed.stderr, /--listen must be host:port, such as 127\.0\.0\.1:9187.*got "127\.0\.0\.1": no port/);
  const fromEnv = await runCli(['run'], { ...ws.env(url), PGDUCK_LISTEN: '127.0.0.1:99999' });
  assert.equal(fromEnv.code, 2, fromEnv.stderr);
  assert.match(fromEnv.stderr, /PGDUCK_LISTEN must be host:port.*port 99999 is outside 1–65535/);

  const { createServer } = await import('node:net');
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as { port: number }).port;
  try {
    const inUse = await runCli(['run', '--listen', `127.0.0.1:${port}`], ws.env(url));
    assert.equal(inUse.code, 3, inUse.stderr);
    assert.match(inUse.stderr, new RegExp(`cannot serve /healthz and /metrics on 127\\.0\\.0\\.1:${port}: 127\\.0\\.0\\.1:${port} is already in use`));
    assert.match(inUse.stderr, /fix: choose another address with --listen or PGDUCK_LISTEN/);
  } finally {
    holder.close();
  }
  assert.equal(readCheckpoint(ws, 'steady'), null, 'nothing was run');
  ws.cleanup();
});
