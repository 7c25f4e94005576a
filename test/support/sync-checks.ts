/**
 * Checks shared by the sync tests: the checkpoint as stored, a sync run and a verification.
 *
 * runOnce and assertVerified run in this process: the runner (runAllOnce, the pool `pgduck run
 * --once` uses) and verifyPipeline (what `pgduck verify` runs per pipeline), on real Postgres and
 * real DuckDB files, without paying a CLI process start (~0.5 s of CPU) each. The CLI surface (exit
 * codes, printed lines, logs said once per process) is tested by the tests that call runCli /
 * runOnceCli / assertVerifiedCli.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { join } from 'node:path';
import { pino } from 'pino';
import { CheckpointStore, type Checkpoint } from '../../src/state/checkpoint-store.js';
import { verifyPipeline, type PipelineVerification } from '../../src/repair/verify-pipeline.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { formatProblems } from '../../src/config/format-problems.js';
import { resolvePipeline, type ResolvedPipeline } from '../../src/config/resolved-pipeline.js';
import { checkpointDbPath, resolveSettings } from '../../src/runner/settings.js';
import { runAllOnce, type PipelineOutcome } from '../../src/runner/pool.js';
import { reconcilePipeline } from '../../src/repair/reconcile-pipeline.js';
import type { ReconcileRecord } from '../../src/state/checkpoint-store.js';
import { runCli, type Workspace } from './workspace.js';

/** The sessions a test opens itself (writers, transactions held open), all ended by endAll() in after(). */
export class TestClients {
  private readonly clients: pg.Client[] = [];

  async connect(config: string | pg.ClientConfig): Promise<pg.Client> {
    const c = new pg.Client(typeof config === 'string' ? { connectionString: config } : config);
    // A session the server ends (a test stopping it, a terminated backend) must not crash the run.
    c.on('error', () => {});
    await c.connect();
    this.clients.push(c);
    return c;
  }

  async endAll(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.end().catch(() => {});
  }
}

/** The target table's ids in order, read from the workspace's DuckDB file. */
export function duckIds(ws: Workspace, table: string): Promise<number[]> {
  return withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT list(id ORDER BY id) AS ids FROM ${table}`))[0].ids as number[], { readOnly: true });
}

export function readCheckpoint(ws: Workspace, pipeline: string): Checkpoint | null {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return store.get(pipeline);
  } finally {
    store.close();
  }
}

/**
 * `pgduck reset <pipeline>` (without --drop-target), in this process: the checkpoint forgotten
 * (CheckpointStore.reset, as the command does it), so the next run bootstraps again; the DuckDB
 * table and the history stay. Must find a checkpoint to forget. For the resets a test needs, not
 * the ones it tests the CLI with.
 */
export function resetCheckpoint(ws: Workspace, pipeline: string): void {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    assert.equal(store.reset(pipeline), true, `reset ${pipeline}: no checkpoint to clear`);
  } finally {
    store.close();
  }
}

/**
 * The workspace's pipelines as `pgduck <command>` with this environment would load them: every file
 * must be valid (an invalid one makes `run --once` exit 3 and `verify` refuse), `only` names known.
 */
export function loadWorkspace(env: NodeJS.ProcessEnv, only: string[]): { pipelines: ResolvedPipeline[]; settings: ReturnType<typeof resolveSettings> } {
  const settings = resolveSettings({}, env);
  const { specs, problems } = loadPipelines([settings.pipelinesDir], env, settings.duckdbPath);
  assert.equal(formatProblems(problems), '', 'every pipeline file is valid');
  for (const name of only)
    assert.ok(
      specs.some((s) => s.name === name),
      `unknown pipeline: ${name}`,
    );
  const chosen = only.length > 0 ? specs.filter((s) => only.includes(s.name)) : specs.filter((s) => s.enabled);
  assert.ok(chosen.length > 0, `no enabled pipelines in ${settings.pipelinesDir}`);
  const pipelines = chosen.map((s) => resolvePipeline(s, settings));
  for (const p of pipelines) assert.ok(p.connection, `${p.spec.name}: no database configured`);
  return { pipelines, settings };
}

/** One `run --once` of the workspace's (single) pipeline in this process, its outcome whatever it is (runOnce asserts success). */
export async function runOutcome(ws: Workspace, url: string): Promise<PipelineOutcome> {
  return (await runOutcomes(ws, url))[0];
}

/** One `run --once` of every pipeline of the workspace in this process, each outcome whatever it is. */
export async function runOutcomes(ws: Workspace, url: string): Promise<PipelineOutcome[]> {
  const { pipelines, settings } = loadWorkspace(ws.env(url), []);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  try {
    return await runAllOnce(pipelines, { lake, store, log: pino({ level: 'silent' }) }, 1);
  } finally {
    await lake.close();
    store.close();
  }
}

/** `pgduck verify <names…>` must report every pipeline equal (in this process: verifyPipeline, as verify runs it). */
export async function assertVerified(ws: Workspace, url: string, names: string[] = []): Promise<PipelineVerification[]> {
  const { pipelines } = loadWorkspace(ws.env(url), names);
  const results: PipelineVerification[] = [];
  for (const p of pipelines) results.push(await verifyPipeline(p, { limit: 100 }));
  const diffs = results.filter((p) => !p.equal).map((p) => ({ pipeline: p.pipeline, error: p.error, differences: p.verdict?.differences.slice(0, 10) }));
  assert.deepEqual(diffs, [], 'verify: every pipeline equal');
  return results;
}

/** `pgduck verify <names…> --json` through the real CLI: must exit 0 and report every pipeline equal. */
export async function assertVerifiedCli(ws: Workspace, url: string, names: string[] = []): Promise<PipelineVerification[]> {
  const res = await runCli(['verify', ...names, '--json'], ws.env(url));
  const out = res.stdout ? (JSON.parse(res.stdout) as { equal: boolean; pipelines: PipelineVerification[] }) : null;
  const diffs = out?.pipelines.filter((p) => !p.equal).map((p) => ({ pipeline: p.pipeline, error: p.error, differences: p.verdict?.differences.slice(0, 10) }));
  assert.equal(res.code, 0, `verify: ${JSON.stringify(diffs)} ${res.stderr}`);
  assert.equal(out?.equal, true);
  return out.pipelines;
}

/**
 * `pgduck run --once [--only name…]`, in this process: every pipeline must succeed. Returns what the
 * CLI would print: stdout's `✓ name: N rows in B batches (ms)` lines, and the logs (JSON lines, as
 * PGDUCK_LOG_FORMAT=json writes them on stderr). A log the runner says once per process (a horizon
 * fallback) is said by the first run of this process only: assert on those with runOnceCli.
 */
export async function runOnce(ws: Workspace, url: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const only: string[] = [];
  if (args.length > 0) {
    assert.equal(args[0], '--only', `runOnce in process takes --only only (use runOnceCli): ${args.join(' ')}`);
    only.push(...args.slice(1));
  }
  const fullEnv = { ...ws.env(url), ...env };
  const { pipelines, settings } = loadWorkspace(fullEnv, only);
  let stderr = '';
  const log = pino({ level: fullEnv.PGDUCK_LOG_LEVEL ?? 'info', base: undefined }, { write: (line: string) => void (stderr += line) });
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
  let outcomes: Awaited<ReturnType<typeof runAllOnce>>;
  try {
    outcomes = await runAllOnce(pipelines, { lake, store, log }, settings.concurrency);
  } finally {
    await lake.close();
    store.close();
  }
  let stdout = '';
  for (const o of outcomes) {
    if (o.ok) stdout += `✓ ${o.pipeline}: ${o.summary.rows} rows in ${o.summary.batches} batches (${o.summary.durationMs} ms)\n`;
    else stdout += `✗ ${o.pipeline}: ${o.message}\n`;
  }
  assert.ok(
    outcomes.every((o) => o.ok),
    `run --once: ${stdout}\n${stderr}`,
  );
  return { stdout, stderr };
}

/**
 * `pgduck reconcile <names…> --json`, in this process (reconcilePipeline, what the command runs per
 * pipeline, recording the outcome in the state store): every pipeline must be reconciled without
 * error. Returns the records the command prints as `pipelines`. The CLI surface (exit codes, the
 * printed lines, SIGTERM) is tested through runCli.
 */
export async function reconcileOnce(ws: Workspace, url: string, names: string[] = []): Promise<ReconcileRecord[]> {
  const { pipelines, settings } = loadWorkspace(ws.env(url), names);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const records: ReconcileRecord[] = [];
  try {
    for (const p of pipelines) records.push(await reconcilePipeline(p, store));
  } finally {
    store.close();
  }
  assert.deepEqual(
    records.filter((r) => r.error).map((r) => [r.pipeline, r.error]),
    [],
    'reconcile: every pipeline reconciled',
  );
  return records;
}

/** `pgduck run --once` through the real CLI: must exit 0; returns stdout and stderr. */
export async function runOnceCli(ws: Workspace, url: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const res = await runCli(['run', '--once', ...args], { ...ws.env(url), ...env });
  assert.equal(res.code, 0, `run --once: ${res.stdout}\n${res.stderr}`);
  return res;
}

/** Wait past the pipelines' default horizon.margin_ms (1 s), so rows just written are read whole by the next run. */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1200));
