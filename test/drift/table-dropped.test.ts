/**
 * A source table dropped while `pgduck run` runs (issue #13's closing note), on real Postgres and a
 * real DuckDB file, with the service's own scheduler in this process so the drop lands exactly
 * between two batches (RunDeps.onStep waits for it):
 *
 * - that pipeline stops needs-action (blocked) with SOURCE_TABLE_MISSING naming the table, where the
 *   checkpoint stayed and what to do;
 * - its checkpoint stays where its last committed batch left it, through a SIGHUP's re-run too, and
 *   the DuckDB table holds exactly those rows;
 * - the other pipeline keeps syncing;
 * - the real `pgduck run`, the table dropped between two ticks: `pgduck status --json` says blocked
 *   with that kind, the other pipeline's new rows arrive, the checkpoint does not move;
 * - a drop during a backfill (drift added a column) is the same needs-action failure, not a
 *   transient "the source changed" retried for ever.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli } from '../support/workspace.js';
import { loadWorkspace, runOnce } from '../support/sync-checks.js';
import { createTable, writeTablePipeline } from '../failures/failure-fixture.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { checkpointDbPath } from '../../src/runner/settings.js';
import { startScheduler } from '../../src/runner/scheduler.js';
import { runRecorded, type PipelineOutcome } from '../../src/runner/pool.js';
import type { PipelineStatus } from '../../src/report/status-view.js';

let pg: TestPostgres;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});

async function waitFor(what: string, check: () => boolean, context: () => string = () => '', timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await sleep(50);
  }
}

const count = (duckdbPath: string, table: string) =>
  withDuckDbFile(duckdbPath, async (s) => Number((await s.all(`SELECT count(*)::BIGINT AS n, max(id)::BIGINT AS top FROM ${table}`))[0].n), { readOnly: true });

test('a source table dropped between two batches under pgduck run: blocked with SOURCE_TABLE_MISSING, its checkpoint left at its last batch, the other pipeline syncing on', async () => {
  const url = await pg.createDatabase('table_dropped');
  await createTable(pg, url, 'doomed', 500);
  await createTable(pg, url, 'steady', 40);
  const ws = createWorkspace();
  writeTablePipeline(ws, 'doomed', 'doomed', { batchSize: 100, schedule: '* * * * * *' });
  writeTablePipeline(ws, 'steady', 'steady', { batchSize: 100, schedule: '* * * * * *' });
  const env = ws.env(url);
  const { pipelines, settings } = loadWorkspace(env, []);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  let logs = '';
  const log = pino({ level: 'info', base: undefined }, { write: (line: string) => void (logs += line) });
  let dropped = false;
  const outcomes: PipelineOutcome[] = [];
  const doomedRuns = () => outcomes.filter((o) => o.pipeline === 'doomed');
  const scheduler = startScheduler(
    pipelines,
    {
      lake,
      store,
      log,
      // Before the third batch's read: batches 1 and 2 are read, and 2 finishes (upsert, checkpoint) meanwhile.
      onStep: async (stage, batch, pipeline) => {
        if (pipeline !== 'doomed' || stage !== 'extract' || batch !== 3 || dropped) return;
        dropped = true;
        await pg.query(url, 'DROP TABLE public.doomed');
      },
    },
    { concurrency: 2, runAtStart: true, retry: { baseMs: 50, maxMs: 500, blockedProbeMs: 0 }, onOutcome: (o) => outcomes.push(o) },
  );
  const stateOf = (name: string) => scheduler.view().find((v) => v.pipeline === name)?.health.state;
  try {
    await waitFor(
      'doomed blocked',
      () => stateOf('doomed') === 'blocked',
      () => logs,
    );
    assert.ok(dropped, 'the table was dropped by the test, mid-run');
    const [failure] = doomedRuns();
    assert.equal(doomedRuns().length, 1, 'one run, no retry');
    assert.ok(!failure.ok);
    assert.deepEqual([failure.kind, failure.code], ['needs-action', 'SOURCE_TABLE_MISSING']);
    assert.match(failure.message, /^pipeline doomed failed in extract \(batch 3\): source table public\.doomed does not exist/);
    assert.match(failure.message, /2 batches of this run committed \(200 rows\); checkpoint not advanced past them; next run re-reads from .+ \/ 200$/);
    assert.match(failure.error.fix ?? '', /^restore public\.doomed or correct source\.table in .*doomed\.yml; the next run resumes from the checkpoint/);
    const cp = store.get('doomed');
    assert.deepEqual([cp?.rowsTotal, cp?.batchesTotal, cp?.position?.key], [200, 2, ['200']]);

    // The other pipeline keeps syncing.
    await pg.query(url, `INSERT INTO public.steady (id, name) SELECT i, 'late ' || i FROM generate_series(41, 65) i`);
    await waitFor(
      'the new rows of steady',
      () => (store.get('steady')?.rowsTotal ?? 0) >= 65,
      () => logs,
    );
    assert.equal(store.get('steady')?.rowsTotal, 65);
    assert.notEqual(stateOf('steady'), 'blocked');

    // SIGHUP ("I fixed it"): the blocked pipeline runs again, finds the table still gone, moves nothing.
    assert.deepEqual(scheduler.unblockAll(), ['doomed']);
    await waitFor(
      'the re-run of doomed',
      () => doomedRuns().length === 2 && stateOf('doomed') === 'blocked',
      () => logs,
    );
    const again = doomedRuns()[1];
    assert.deepEqual(again.ok ? null : [again.code, again.message.includes('checkpoint not advanced; next run re-reads from')], ['SOURCE_TABLE_MISSING', true]);
    const cpAfter = store.get('doomed');
    assert.deepEqual([cpAfter?.rowsTotal, cpAfter?.batchesTotal, cpAfter?.position], [cp?.rowsTotal, cp?.batchesTotal, cp?.position], 'no checkpoint moved');

    // What `pgduck status` reads of a running service (the test after this one reads it through the CLI).
    const states = new Map(store.runnerStates().map((r) => [r.pipeline, r]));
    assert.deepEqual(
      [states.get('doomed')?.state, states.get('doomed')?.kind, states.get('doomed')?.code],
      ['blocked', 'needs-action', 'SOURCE_TABLE_MISSING'],
    );
    assert.match(states.get('doomed')?.fix ?? '', /restore public\.doomed/);
    assert.notEqual(states.get('steady')?.state, 'blocked');
  } finally {
    await scheduler.stop();
    await lake.close();
    store.close();
  }
  // The DuckDB file: the doomed table keeps what its committed batches wrote; steady has every row.
  assert.equal(await count(ws.duckdbPath, 'doomed'), 200);
  assert.equal(await count(ws.duckdbPath, 'steady'), 65);
  ws.cleanup();
});

test('pgduck run, the source table dropped between two ticks: status --json says blocked (SOURCE_TABLE_MISSING), the checkpoint stays, the other pipeline syncs on', async () => {
  const url = await pg.createDatabase('table_dropped_ticks');
  await createTable(pg, url, 'doomed', 250);
  await createTable(pg, url, 'steady', 40);
  const ws = createWorkspace();
  writeTablePipeline(ws, 'doomed', 'doomed', { batchSize: 100, schedule: '* * * * * *' });
  writeTablePipeline(ws, 'steady', 'steady', { batchSize: 100, schedule: '* * * * * *' });
  const env = ws.env(url);
  const child = spawn(process.execPath, [CLI, 'run'], { env: { ...env, PGDUCK_BLOCKED_RETRY_SECONDS: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  child.stderr.on('data', (d) => (logs += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const readStore = <T>(fn: (s: CheckpointStore) => T): T => {
    const s = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
    try {
      return fn(s);
    } finally {
      s.close();
    }
  };
  const status = async () => {
    const res = await runCli(['status', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    return new Map((JSON.parse(res.stdout).pipelines as PipelineStatus[]).map((p) => [p.pipeline, p]));
  };
  const poll = async (what: string, check: () => Promise<boolean>) => {
    const until = Date.now() + 60_000;
    while (!(await check().catch(() => false))) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${logs.slice(-3000)}`);
      await sleep(100);
    }
  };
  try {
    await poll('both bootstraps', async () => readStore((s) => s.get('doomed')?.rowsTotal === 250 && s.get('steady')?.rowsTotal === 40));
    const cp = readStore((s) => s.get('doomed'));
    await pg.query(url, 'DROP TABLE public.doomed');
    await poll('doomed blocked', async () => (await status()).get('doomed')?.state === 'blocked');
    const doomed = (await status()).get('doomed')!;
    assert.deepEqual([doomed.lastError?.kind, doomed.lastError?.code], ['needs-action', 'SOURCE_TABLE_MISSING']);
    assert.match(doomed.lastError?.message ?? '', /source table public\.doomed does not exist.*checkpoint not advanced; next run re-reads from .+ \/ 250/);
    assert.match(doomed.lastError?.fix ?? '', /^restore public\.doomed or correct source\.table in /);
    assert.equal(doomed.summary, 'blocked (needs-action SOURCE_TABLE_MISSING)');

    await pg.query(url, `INSERT INTO public.steady (id, name) SELECT i, 'late ' || i FROM generate_series(41, 60) i`);
    await poll('the new rows of steady', async () => (await status()).get('steady')?.rowsSynced === 60);
    const after = await status();
    assert.notEqual(after.get('steady')?.state, 'blocked');
    assert.equal(after.get('doomed')?.state, 'blocked');
    const cpAfter = readStore((s) => s.get('doomed'));
    assert.deepEqual([cpAfter?.position, cpAfter?.rowsTotal, cpAfter?.batchesTotal], [cp?.position, cp?.rowsTotal, cp?.batchesTotal], 'no checkpoint moved');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, logs.slice(-2000));
  }
  assert.equal(await count(ws.duckdbPath, 'doomed'), 250);
  assert.equal(await count(ws.duckdbPath, 'steady'), 60);
  ws.cleanup();
});

test('a source table dropped during a backfill: SOURCE_TABLE_MISSING (needs-action), the backfill and the checkpoint left where they were', async () => {
  const url = await pg.createDatabase('table_dropped_backfill');
  await createTable(pg, url, 'items', 120);
  const ws = createWorkspace();
  writeTablePipeline(ws, 'items', 'items', { batchSize: 50 });
  await runOnce(ws, url);
  await pg.query(url, `ALTER TABLE public.items ADD COLUMN region text NOT NULL DEFAULT 'eu'`);
  const { pipelines, settings } = loadWorkspace(ws.env(url), []);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  const before = store.get('items');
  let outcome: PipelineOutcome;
  try {
    outcome = await runRecorded(pipelines[0], {
      lake,
      store,
      log: pino({ level: 'silent' }),
      // The drift check has recorded the backfill of `region`; the table goes before the backfill reads it.
      onStep: async (stage) => {
        if (stage === 'backfill') await pg.query(url, 'DROP TABLE public.items');
      },
    });
    assert.ok(!outcome.ok);
    assert.deepEqual([outcome.kind, outcome.code], ['needs-action', 'SOURCE_TABLE_MISSING']);
    assert.match(outcome.message, /failed in backfill \(batch \d+\): source table public\.items does not exist.*checkpoint not advanced/);
    const after = store.get('items');
    assert.deepEqual([after?.position, after?.rowsTotal, after?.batchesTotal], [before?.position, before?.rowsTotal, before?.batchesTotal]);
    const [pending] = store.backfills('items');
    assert.deepEqual([pending.finishedAt, pending.rowsDone, pending.position], [null, 0, null], 'the backfill waits, untouched');
  } finally {
    await lake.close();
    store.close();
  }
  assert.equal(await count(ws.duckdbPath, 'items'), 120);
  ws.cleanup();
});

test('a run that fails after its pipeline file changed under it (the service rescheduled it meanwhile): its failure is still logged', async () => {
  const url = await pg.createDatabase('table_dropped_rescheduled');
  await createTable(pg, url, 'doomed', 300);
  const ws = createWorkspace();
  writeTablePipeline(ws, 'doomed', 'doomed', { batchSize: 100, schedule: '0 0 0 1 1 *' });
  const { pipelines, settings } = loadWorkspace(ws.env(url), []);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  let logs = '';
  const log = pino({ level: 'info', base: undefined }, { write: (line: string) => void (logs += line) });
  let edited = false;
  const outcomes: PipelineOutcome[] = [];
  // Bound late: the seam runs during the scheduler's first run.
  let scheduler: ReturnType<typeof startScheduler> | null = null;
  scheduler = startScheduler(
    pipelines,
    {
      lake,
      store,
      log,
      // Before the second batch's read: the file changes (rescheduled), then the table goes.
      onStep: async (stage, batch) => {
        if (stage !== 'extract' || batch !== 2 || edited) return;
        edited = true;
        scheduler?.update(pipelines.map((p) => ({ ...p, spec: { ...p.spec, batchSize: 50 } })));
        await pg.query(url, 'DROP TABLE public.doomed');
      },
    },
    { concurrency: 1, runAtStart: true, retry: { baseMs: 50, maxMs: 500, blockedProbeMs: 0 }, onOutcome: (o) => outcomes.push(o) },
  );
  try {
    await waitFor(
      'the failure logged',
      () => logs.includes('its pipeline file changed or was removed while it ran'),
      () => logs,
    );
    const line = logs
      .split('\n')
      .filter((l) => l.includes('its pipeline file changed or was removed while it ran'))
      .map((l) => JSON.parse(l) as { level: number; pipeline: string; error: { code: string; kind: string } });
    assert.equal(line.length, 1);
    assert.deepEqual([line[0].level, line[0].pipeline, line[0].error.code, line[0].error.kind], [40, 'doomed', 'SOURCE_TABLE_MISSING', 'needs-action']);
    // Not settled on the new entry (its health starts clean); the file as it is now runs once that run has
    // ended (changed with test/service/service-reload-in-flight.test.ts: it used to wait for its next tick),
    // and its own failure is settled on it.
    await waitFor(
      'the new entry run',
      () => outcomes.length > 0,
      () => logs,
    );
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? 'ok' : o.code)),
      ['SOURCE_TABLE_MISSING'],
    );
  } finally {
    await scheduler?.stop();
    await lake.close();
    store.close();
    ws.cleanup();
  }
});
