/**
 * Found by review (a blocked pipeline never unblocked after the cause is fixed, while status names a run that
 * never comes): README "When something fails" says a needs-action or config failure blocks a pipeline
 * "until its file changes, its state changes (`pgduck reset`), SIGHUP, or a probe run every
 * PGDUCK_BLOCKED_RETRY_SECONDS", and `status` shows the probe time as the next run. But the scheduler
 * looks at the probe time and at the checkpoint generation only in a cron tick (PipelineHealth.onTick,
 * called from scheduler.ts fire('tick')): nothing fires at the probe time, and a reset is seen at the
 * next tick of the pipeline's schedule, however far away that is (a daily or yearly schedule).
 * Fixed in src/runner/scheduler.ts (watchBlocked): a blocked pipeline is looked at every 2 s (or at
 * its probe) as a tick would, so its probe runs when status says and a reset is noticed at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint } from '../support/sync-checks.js';
import { startService, type Service } from '../support/service-process.js';
import type { PipelineStatus } from '../../src/report/status-view.js';

const NEVER = '0 0 1 1 *'; // yearly: no cron tick comes during a test
const ROWS = 30;

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const create = (t: string, from = 1) =>
  `CREATE TABLE ${t} (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
   CREATE INDEX ON ${t} (updated_at, id);
   INSERT INTO ${t} (id, note) SELECT g, 'row ' || g FROM generate_series(${from}, ${from + ROWS - 1}) AS g;`;
const yaml = (t: string) => `source:\n  table: public.${t}\n  primary_key: id\ntarget:\n  table: ${t}\nschedule: "${NEVER}"\nhorizon:\n  margin_ms: 0\n`;

async function status(ws: Workspace, url: string): Promise<Map<string, PipelineStatus>> {
  const res = await runCli(['status', '--json'], ws.env(url));
  assert.equal(res.code, 0, res.stderr);
  return new Map((JSON.parse(res.stdout).pipelines as PipelineStatus[]).map((p) => [p.pipeline, p]));
}

async function waitUntil(svc: Service, what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${svc.stderr().slice(-4000)}`);
    await sleep(100);
  }
}

test('blocked on a missing source table, the table then created: the probe (PGDUCK_BLOCKED_RETRY_SECONDS=1) runs it when status says it will', async () => {
  const url = await pgs.createDatabase('rv_probe_between_ticks');
  const ws = createWorkspace();
  ws.writePipeline('orders', yaml('orders'));
  const svc = startService({ ...ws.env(url), PGDUCK_RELOAD_SECONDS: '0', PGDUCK_BLOCKED_RETRY_SECONDS: '1', PGDUCK_LOG_LEVEL: 'info' });
  try {
    try {
      await waitUntil(svc, 'orders blocked', async () => (await status(ws, url)).get('orders')?.state === 'blocked');
      const blocked = (await status(ws, url)).get('orders')!;
      assert.equal(blocked.lastError?.code, 'SOURCE_TABLE_MISSING');
      // The cause fixed: the table exists now.
      await pgs.query(url, create('orders'));
      // status says the next run is the probe, a second after the failure.
      const probeAt = Date.parse(blocked.nextRun ?? '');
      assert.ok(Number.isFinite(probeAt) && probeAt - Date.now() < 5_000, `status names the probe as the next run: ${JSON.stringify(blocked)}`);
      const until = Math.max(probeAt, Date.now()) + 8_000;
      while (Date.now() < until && readCheckpoint(ws, 'orders')?.bootstrapDone !== true) await sleep(200);
      const st = (await status(ws, url)).get('orders');
      const cp = readCheckpoint(ws, 'orders');
      assert.equal(
        cp?.bootstrapDone,
        true,
        `8 s after the probe time status announced (${blocked.nextRun}) nothing ran: checkpoint ${JSON.stringify({ rowsTotal: cp?.rowsTotal, lastStatus: cp?.lastStatus })}; ` +
          `status now ${JSON.stringify({ state: st?.state, summary: st?.summary, nextRun: st?.nextRun })}`,
      );
    } finally {
      await svc.stop();
    }
  } finally {
    ws.cleanup();
  }
});

test('blocked on a re-created source table (SOURCE_CHANGED), then `pgduck reset --drop-target`: it runs again without waiting for its next cron tick', async () => {
  const url = await pgs.createDatabase('rv_reset_between_ticks');
  await pgs.query(url, create('orders'));
  const ws = createWorkspace();
  ws.writePipeline('orders', yaml('orders'));
  const once = await runCli(['run', '--once'], ws.env(url));
  assert.equal(once.code, 0, once.stdout + once.stderr);
  // Re-created under its name (new oid): the next run refuses it, needs action.
  await pgs.query(url, `DROP TABLE orders; ${create('orders', 101)}`);
  const svc = startService({ ...ws.env(url), PGDUCK_RELOAD_SECONDS: '0', PGDUCK_BLOCKED_RETRY_SECONDS: '0', PGDUCK_LOG_LEVEL: 'info' });
  try {
    try {
      await waitUntil(svc, 'orders blocked', async () => (await status(ws, url)).get('orders')?.state === 'blocked');
      const blocked = (await status(ws, url)).get('orders')!;
      assert.equal(blocked.lastError?.kind, 'needs-action', JSON.stringify(blocked));
      // The fix the message names.
      const reset = await runCli(['reset', 'orders', '--drop-target'], ws.env(url));
      assert.equal(reset.code, 0, reset.stdout + reset.stderr);
      const until = Date.now() + 8_000;
      while (Date.now() < until && readCheckpoint(ws, 'orders')?.bootstrapDone !== true) await sleep(200);
      const st = (await status(ws, url)).get('orders');
      const cp = readCheckpoint(ws, 'orders');
      assert.equal(
        cp?.bootstrapDone,
        true,
        `8 s after the reset nothing ran: checkpoint ${JSON.stringify({ rowsTotal: cp?.rowsTotal, generation: cp?.generation, bootstrapDone: cp?.bootstrapDone })}; ` +
          `status ${JSON.stringify({ state: st?.state, summary: st?.summary, nextRun: st?.nextRun })}`,
      );
    } finally {
      await svc.stop();
    }
  } finally {
    ws.cleanup();
  }
});
