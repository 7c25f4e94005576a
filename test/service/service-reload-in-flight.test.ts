/**
 * Found by review (rows lost while the service says all is well): a reload of pipelines/ that lands while a
 * pipeline's run is in flight. The run is held in flight by a lock the test holds on the source table
 * (ACCESS EXCLUSIVE in an open transaction: the run's first read of the table waits for it), so the
 * reload surely comes while it runs, with no sleeps guessing how long a step takes.
 *
 * 1. The file turns invalid while its run is in flight: the reload unschedules the pipeline and records it
 *    as failed (config, CONFIG_INVALID), then the run in flight ends and records `ok` over it, so
 *    `pgduck status` says idle and nothing says the pipeline is no longer scheduled.
 * 2. The file is edited while its run is in flight, and that run then fails transiently (its connection
 *    terminated): README says a transient failure is "retried on a timer of its own, not the next cron
 *    tick", but the replaced entry's failure is only logged, and the new entry waits for its cron tick.
 * 3. The file is removed and added again (writing another table) while its run is in flight: a file
 *    dropped in "is scheduled and runs at once", but fire() drops that run because the old name's run
 *    is still in the `running` set, and nothing fires it when that run ends.
 * Fixed in src/runner/scheduler.ts: a start asked for while a run of the same name is in flight runs
 * when it ends (`again`), so does the current file after a failed run of the file it replaced, and
 * a run whose pipeline was unscheduled meanwhile does not record its outcome over the config failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint, TestClients } from '../support/sync-checks.js';
import { startService, type Service } from '../support/service-process.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import type { PipelineStatus } from '../../src/report/status-view.js';

const NEVER = '0 0 1 1 *'; // yearly: no cron tick comes during a test
const ROWS = 50;

let pgs: TestPostgres;
const clients = new TestClients();
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await clients.endAll();
  await pgs?.stop();
});

const table = (t: string) =>
  `CREATE TABLE ${t} (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
   CREATE INDEX ON ${t} (updated_at, id);
   INSERT INTO ${t} (id, note) SELECT g, 'row ' || g FROM generate_series(1, ${ROWS}) AS g;`;
const yaml = (source: string, target: string, batch = 1000) =>
  `source:\n  table: public.${source}\n  primary_key: id\ntarget:\n  table: ${target}\nbatch_size: ${batch}\nschedule: "${NEVER}"\nhorizon:\n  margin_ms: 0\n`;

async function status(ws: Workspace, url: string): Promise<Map<string, PipelineStatus>> {
  const res = await runCli(['status', '--json'], ws.env(url));
  assert.equal(res.code, 0, res.stderr);
  return new Map((JSON.parse(res.stdout).pipelines as PipelineStatus[]).map((p) => [p.pipeline, p]));
}

/** Backends of this database waiting for a lock (the run held by the test's lock). */
async function waiters(url: string): Promise<number[]> {
  const r = await pgs.query(
    url,
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
  return r.rows.map((x) => Number(x.pid));
}

async function waitUntil(svc: Service, what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${svc.stderr().slice(-4000)}`);
    await sleep(100);
  }
}

const reloaded = (svc: Service, kind: 'added' | 'removed' | 'changed', name: string) =>
  svc.lines().some((l) => l.msg.startsWith('pipelines reloaded') && Array.isArray(l[kind]) && (l[kind] as string[]).includes(name));

async function duckCount(ws: Workspace, t: string): Promise<number | null> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => {
      const exists = await s.all(`SELECT count(*)::INT AS n FROM duckdb_tables() WHERE table_name = '${t}'`);
      if (Number(exists[0].n) === 0) return null;
      return Number((await s.all(`SELECT count(*)::INT AS n FROM ${t}`))[0].n);
    },
    { readOnly: true },
  );
}

test('a pipeline file turned invalid while its run is in flight: status must not say idle (it is no longer scheduled)', async () => {
  const url = await pgs.createDatabase('rv_invalid_in_flight');
  await pgs.query(url, table('orders'));
  const ws = createWorkspace();
  const path = ws.writePipeline('orders', yaml('orders', 'orders'));
  const holder = await clients.connect(url);
  await holder.query('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
  const svc = startService({ ...ws.env(url), PGDUCK_RELOAD_SECONDS: '1', PGDUCK_LOG_LEVEL: 'info' });
  try {
    try {
      await waitUntil(svc, 'the start-up run waiting for the lock', async () => (await waiters(url)).length > 0);
      // The file turns invalid (an unknown key) while that run is in flight.
      ws.writePipeline('orders', `${yaml('orders', 'orders')}no_such_key: 1\n`);
      await waitUntil(svc, 'the reload removing orders', () => reloaded(svc, 'removed', 'orders'));
      const during = (await status(ws, url)).get('orders');
      assert.equal(during?.state, 'failed', `while the run is held: ${JSON.stringify(during)}`);
      // The run in flight goes on and ends.
      await holder.query('COMMIT');
      // Its rows are committed (the checkpoint moves), but its 'ok' is not recorded over the config failure.
      await waitUntil(svc, 'the run in flight to end', () => readCheckpoint(ws, 'orders')?.bootstrapDone === true);
      await sleep(300);
      // A change in the source now is never synced: the pipeline is not scheduled any more.
      await pgs.query(url, `INSERT INTO orders (id, note) VALUES (${ROWS + 1}, 'after')`);
      await sleep(2500);
      const st = (await status(ws, url)).get('orders');
      assert.ok(st, 'status lists orders');
      assert.notEqual(
        st.state,
        'idle',
        `the file is invalid and the pipeline unscheduled (row ${ROWS + 1} never synced), yet status says: ${JSON.stringify({ state: st.state, summary: st.summary, lastRun: st.lastRun, lastError: st.lastError })}`,
      );
      assert.equal(st.lastError?.code, 'CONFIG_INVALID');
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await svc.stop();
    }
  } finally {
    void path;
    ws.cleanup();
  }
});

test('a pipeline file edited while its run is in flight, the run then failing transiently: retried on its backoff timer, not left to the next cron tick', async () => {
  const url = await pgs.createDatabase('rv_edit_transient');
  await pgs.query(url, table('orders'));
  const ws = createWorkspace();
  ws.writePipeline('orders', yaml('orders', 'orders', 1000));
  const holder = await clients.connect(url);
  await holder.query('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
  const svc = startService({
    ...ws.env(url),
    PGDUCK_RELOAD_SECONDS: '1',
    PGDUCK_RETRY_BASE_MS: '200',
    PGDUCK_RETRY_MAX_SECONDS: '1',
    PGDUCK_LOG_LEVEL: 'info',
  });
  try {
    try {
      await waitUntil(svc, 'the start-up run waiting for the lock', async () => (await waiters(url)).length > 0);
      // An edit that changes nothing of what is read (the batch size).
      ws.writePipeline('orders', yaml('orders', 'orders', 500));
      await waitUntil(svc, 'the reload rescheduling orders', () => reloaded(svc, 'changed', 'orders'));
      // The connection of the run in flight is lost: a transient failure.
      for (const pid of await waiters(url)) await pgs.query(url, 'SELECT pg_terminate_backend($1)', [pid]);
      await holder.query('COMMIT');
      await waitUntil(svc, 'the run in flight to fail', () => readCheckpoint(ws, 'orders')?.lastStatus === 'failed');
      const failed = readCheckpoint(ws, 'orders');
      // Retry base 200 ms, cap 1 s: ten seconds is many retries.
      const until = Date.now() + 10_000;
      while (Date.now() < until && readCheckpoint(ws, 'orders')?.bootstrapDone !== true) await sleep(200);
      const st = (await status(ws, url)).get('orders');
      const cp = readCheckpoint(ws, 'orders');
      assert.equal(
        cp?.bootstrapDone,
        true,
        `a transient failure (${failed?.lastError}) was never retried: after 10 s the checkpoint is ${JSON.stringify({ lastStatus: cp?.lastStatus, bootstrapDone: cp?.bootstrapDone, rowsTotal: cp?.rowsTotal })}; ` +
          `status says ${JSON.stringify({ state: st?.state, summary: st?.summary, nextRun: st?.nextRun })}`,
      );
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await svc.stop();
    }
    assert.equal(await duckCount(ws, 'orders'), ROWS);
  } finally {
    ws.cleanup();
  }
});

test('a pipeline file removed and added again (another target) while its run is in flight: the added file runs at once', async () => {
  const url = await pgs.createDatabase('rv_readd_in_flight');
  await pgs.query(url, table('orders'));
  const ws = createWorkspace();
  const path = ws.writePipeline('orders', yaml('orders', 'orders'));
  const holder = await clients.connect(url);
  await holder.query('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
  const svc = startService({ ...ws.env(url), PGDUCK_RELOAD_SECONDS: '1', PGDUCK_LOG_LEVEL: 'info' });
  try {
    try {
      await waitUntil(svc, 'the start-up run waiting for the lock', async () => (await waiters(url)).length > 0);
      rmSync(path);
      await waitUntil(svc, 'the reload removing orders', () => reloaded(svc, 'removed', 'orders'));
      // Added again, writing another table (reset --drop-target is not needed: a new target bootstraps).
      ws.writePipeline('orders', yaml('orders', 'orders_v2'));
      await waitUntil(svc, 'the reload adding orders', () => reloaded(svc, 'added', 'orders'));
      await holder.query('COMMIT');
      await waitUntil(svc, 'the old run to end', () =>
        svc.lines().some((l) => l.pipeline === 'orders' && /pipeline synced|changed or was removed/.test(l.msg)),
      );
      // Time enough for a run of 50 rows (the added file's own run would have been fired at the reload).
      await sleep(5000);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await svc.stop();
    }
    const v2 = await duckCount(ws, 'orders_v2');
    const cp = readCheckpoint(ws, 'orders');
    assert.equal(
      v2,
      ROWS,
      `the added file's pipeline never ran: orders_v2 holds ${v2 === null ? 'nothing (no table)' : `${v2} rows`}, the checkpoint says ${JSON.stringify({ lastStatus: cp?.lastStatus, target: cp?.target })}; its next run is its yearly tick`,
    );
  } finally {
    ws.cleanup();
  }
});
