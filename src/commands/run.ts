/** `pgduck run [--once] [--only name…]` */
import { formatProblem, formatProblems } from '../config/format-problems.js';
import { PIPELINE_NAME } from '../config/load-pipeline-file.js';
import { selectRunnable, type InvalidPipelineFile } from '../config/select-pipelines.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { KIND_OUTCOMES, exitCodeFor } from '../errors/exit-codes.js';
import { encodeFailure } from '../errors/recorded-failure.js';

import { Lake } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runAllOnce, type PipelineOutcome } from '../runner/pool.js';
import type { ErrorKind } from '../errors/pgduck-error.js';
import { reconcileAfterOnce } from '../runner/pipeline-reconcile.js';
import { formatReconcile } from '../repair/reconcile-pipeline.js';
import { startScheduler, type Scheduler } from '../runner/scheduler.js';
import { Writable } from 'node:stream';
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import type { Logger } from '../log/logger.js';
import { acquireRunnerLock, RunnerLockedError, type HeldLock } from '../runner/runner-lock.js';
import { retryPolicyFromEnv } from '../runner/retry-policy.js';
import { listenAddressFrom } from '../runner/listen-address.js';
import { healthBlockedSecondsFrom } from '../runner/service-health.js';
import type { ServiceEndpoints } from '../runner/health-server.js';
import type { TerminalProgress } from '../log/terminal-progress.js';
import { stateLiveFindings } from '../live/state-live-findings.js';

export interface RunOptions {
  once: boolean;
  only?: string[];
  /** --listen host:port (else PGDUCK_LISTEN): serve /healthz and /metrics (the service only). */
  listen?: string;
  /** Progress bars of bootstraps, when stderr is a terminal (the logger writes through it too). */
  progress?: TerminalProgress;
  /** With once: reconcile each pipeline with a `reconcile:` block after its sync. */
  reconcile?: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function runCommand(settings: Settings, opts: RunOptions, log: Logger): Promise<number> {
  // Usage errors (exit 2) before anything is read or locked.
  const listen = listenAddressFrom(opts.listen, process.env, { once: opts.once });
  const blockedSeconds = listen ? healthBlockedSecondsFrom(process.env) : 0;
  const selection = selectRunnable(settings, opts.only, process.stderr);
  if ('refused' in selection) return KIND_OUTCOMES[selection.refused].exitCode;
  const { pipelines, invalid, invalidElsewhere } = selection;
  const problems = invalid.flatMap((f) => f.problems);
  if (opts.once) process.stderr.write(formatProblems(problems));
  else for (const p of problems) log.error({ file: p.file, line: p.line, col: p.col, path: p.path || undefined }, formatProblem(p));
  if (invalidElsewhere.length > 0) {
    process.stderr.write(
      `note: ${plural(invalidElsewhere.length, 'other pipeline file')} invalid (${invalidElsewhere.map((f) => f.file).join(', ')}): pgduck validate lists the problems\n`,
    );
  }
  if (pipelines.length === 0) {
    process.stderr.write(
      invalid.length > 0
        ? `pipeline configuration is invalid (${plural(problems.length, 'problem')}): nothing was run\n`
        : `no enabled pipelines in ${settings.pipelinesDir}: write one there (pgduck init writes them from the database), or mount a directory of them there\n`,
    );
    return KIND_OUTCOMES.config.exitCode;
  }
  if (pipelines.some((p) => !p.connection)) {
    process.stderr.write('no database configured: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB), or pass --database-url\n');
    return KIND_OUTCOMES.config.exitCode;
  }
  const retry = retryPolicyFromEnv();
  // One runner per state directory and DuckDB file: taken before anything is opened or written.
  let locks: HeldLock[];
  try {
    locks = lockRunner(settings, pipelines, log);
  } catch (err) {
    if (!(err instanceof RunnerLockedError)) throw err;
    process.stderr.write(`pgduck: ${err.message}\n`);
    return KIND_OUTCOMES[err.kind].exitCode;
  }
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
  const deps = { lake, store, log, progress: opts.progress };
  let endpoints: ServiceEndpoints | null = null;
  // What validate --connect says about each source, once per pipeline, after its first successful run.
  const findings = stateLiveFindings(log);
  try {
    recordInvalid(store, invalid, pipelines, log);
    if (opts.once) {
      const outcomes = await runAllOnce(pipelines, deps, settings.concurrency);
      opts.progress?.close();
      await findings.afterSuccess(pipelines.filter((p) => outcomes.some((o) => o.ok && o.pipeline === p.spec.name)));
      const failed = outcomes.filter((o) => !o.ok);
      for (const o of outcomes) {
        if (o.ok) process.stdout.write(`✓ ${o.pipeline}: ${o.summary.rows} rows in ${o.summary.batches} batches (${o.summary.durationMs} ms)\n`);
        else {
          process.stdout.write(`✗ ${o.pipeline}: ${o.message}\n`);
          // What to do about it, unless the message already ends with it.
          if (o.error.fix && !o.message.includes(o.error.fix)) process.stdout.write(`  fix: ${o.error.fix}\n`);
        }
      }
      for (const f of invalid)
        process.stdout.write(`✗ ${f.file}: not run: invalid configuration (${plural(f.problems.length, 'problem')}, printed on stderr)\n`);
      if (failed.length > 0) process.stderr.write(`${plural(failed.length, 'pipeline')} failed: ${failed.map((f) => f.pipeline).join(', ')}\n`);
      if (invalid.length > 0) process.stderr.write(`${plural(invalid.length, 'pipeline file')} invalid, not run: ${invalid.map((f) => f.file).join(', ')}\n`);
      // --reconcile: after the syncs (src/runner/pipeline-reconcile.ts).
      const reconcileFailed = opts.reconcile ? await reconcileOnce(pipelines, outcomes, deps) : [];
      if (failed.length + reconcileFailed.length > 0) return exitCodeFor([...failed.map((f) => f.kind), ...reconcileFailed]);
      return invalid.length > 0 ? KIND_OUTCOMES.config.exitCode : 0;
    }
    if (invalid.length > 0) {
      log.error(
        { files: invalid.map((f) => f.file) },
        `${plural(invalid.length, 'pipeline file')} invalid, not running: ${invalid.map((f) => f.file).join(', ')}; ` +
          `the other ${plural(pipelines.length, 'pipeline')} run. Fixed files are picked up without a restart`,
      );
    }
    // Bound before any pipeline runs: an address that cannot be bound stops here (LISTEN_UNAVAILABLE).
    // The endpoints (and prom-client, 40–90 ms of CPU to load: docs/architecture.md#facts-cli-startup) only when something listens.
    if (listen) endpoints = await (await import('../runner/health-server.js')).startServiceEndpoints({ address: listen, blockedSeconds, log, store });
    // The signal handlers go in before anything is scheduled (or logged as scheduled): a SIGTERM
    // that arrives before them would kill the process with the default action instead of a clean stop.
    let markStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (markStopped = resolve));
    let signals = 0;
    const onSignal = (sig: string) => {
      if (++signals > 1) {
        log.warn('second signal: exiting now; the batch in flight will be re-applied on restart');
        process.exit(130);
      }
      log.info({ signal: sig }, 'stopping: finishing batches in flight (send again to exit at once)');
      endpoints?.stopping();
      reload.stop();
      void scheduler.stop().then(markStopped);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    // Signal handlers run on a later turn of the event loop: both are set by then.
    // A state left by a runner that did not stop cleanly is stale: start from a clean slate.
    clearRunnerStates(store, log);
    const scheduler = startScheduler(
      pipelines,
      { ...deps, onBatch: endpoints?.onBatch },
      {
        concurrency: settings.concurrency,
        runAtStart: true,
        retry,
        onOutcome: (outcome, health, pipeline) => {
          endpoints?.onOutcome(outcome, health);
          if (outcome.ok) void findings.afterSuccess([pipeline]);
        },
      },
    );
    endpoints?.attach(() => scheduler.view());
    const reload = watchPipelines(settings, opts.only, scheduler, store, log, invalid);
    await stopped;
    await findings.settled();
    clearRunnerStates(store, log);
    return 0;
  } finally {
    opts.progress?.close();
    await endpoints?.close();
    await lake.close();
    store.close();
    for (const lock of locks) lock.release();
  }
}

/** `run --once --reconcile`: prints one line per pipeline with a `reconcile:` block; returns the kinds of the reconciles that failed. */
async function reconcileOnce(pipelines: ResolvedPipeline[], outcomes: PipelineOutcome[], deps: { lake: Lake; store: CheckpointStore }): Promise<ErrorKind[]> {
  const { records, skipped } = await reconcileAfterOnce(pipelines, outcomes, deps);
  for (const r of records) process.stdout.write(formatReconcile(r));
  for (const s of skipped) process.stdout.write(`- ${s.pipeline}: not reconciled: ${s.why}\n`);
  if (records.length + skipped.length === 0) process.stderr.write('note: --reconcile: no pipeline has a reconcile: block\n');
  return records.filter((r) => r.error).map((r) => r.errorKind ?? 'internal');
}

/**
 * The lock files of this runner: the state directory's, and one beside each DuckDB file its
 * pipelines write (src/runner/runner-lock.ts). A stale one is taken over with a warning.
 */
function lockRunner(settings: Settings, pipelines: ResolvedPipeline[], log: Logger): HeldLock[] {
  const targets = new Map<string, string>([[resolve(settings.stateDir, 'pgduck-run.lock'), `state directory ${settings.stateDir}`]]);
  for (const p of pipelines) targets.set(`${resolve(p.duckdbPath)}.pgduck-run.lock`, `DuckDB file ${p.duckdbPath}`);
  const held: HeldLock[] = [];
  try {
    for (const [path, what] of targets) {
      mkdirSync(dirname(path), { recursive: true });
      const lock = acquireRunnerLock(path, what);
      held.push(lock);
      if (lock.tookOverFrom) {
        const h = lock.tookOverFrom;
        log.warn({ lock: path, holder: h }, `took over a stale lock ${path} (pid ${h.pid} on host ${h.host}, since ${h.startedAt}: that runner is gone)`);
      }
    }
  } catch (err) {
    for (const lock of held) lock.release();
    throw err;
  }
  return held;
}

function clearRunnerStates(store: CheckpointStore, log: Logger): void {
  try {
    store.clearRunnerState();
  } catch (err) {
    log.debug({ error: { message: (err as Error).message } }, 'could not clear the service state');
  }
}

/**
 * The service re-reads the pipelines directory when a file in it changes (fs.watch, debounced),
 * every PGDUCK_RELOAD_SECONDS (default 10; 0: never) and at once on SIGHUP: a file dropped in is scheduled (and runs), a removed one unscheduled, an
 * edited one rescheduled; a file that turns invalid stops being scheduled and is reported (once per
 * change). Runs in flight are never interrupted.
 */
function watchPipelines(
  settings: Settings,
  only: string[] | undefined,
  scheduler: Scheduler,
  store: CheckpointStore,
  log: Logger,
  initiallyInvalid: InvalidPipelineFile[],
): { stop(): void } {
  const seconds = Number(process.env.PGDUCK_RELOAD_SECONDS ?? 10);
  let reported = JSON.stringify(initiallyInvalid.map((f) => f.problems));
  const reload = (why: string) => {
    const silent = new Writable({ write: (_chunk, _enc, done) => done() });
    const selection = selectRunnable(settings, only, silent);
    if ('refused' in selection) return;
    const { invalid } = selection;
    const runnable = selection.pipelines.filter((p) => {
      if (p.connection) return true;
      log.error({ pipeline: p.spec.name }, `${p.spec.name}: no database configured (DATABASE_URL or source.connection): not scheduled`);
      return false;
    });
    const signature = JSON.stringify(invalid.map((f) => f.problems));
    if (signature !== reported) {
      reported = signature;
      for (const p of invalid.flatMap((f) => f.problems)) log.error({ file: p.file, line: p.line, col: p.col, path: p.path || undefined }, formatProblem(p));
      recordInvalid(store, invalid, runnable, log);
    }
    const changes = scheduler.update(runnable);
    if (changes.added.length + changes.removed.length + changes.changed.length > 0) {
      log.info({ ...changes, trigger: why }, `pipelines reloaded from ${settings.pipelinesDir}`);
    }
  };
  const timer = Number.isFinite(seconds) && seconds > 0 ? setInterval(() => reload('interval'), seconds * 1000) : null;
  const onHup = () => {
    reload('SIGHUP');
    // SIGHUP also says "I fixed it": blocked pipelines run now.
    const unblocked = scheduler.unblockAll();
    if (unblocked.length > 0) log.info({ pipelines: unblocked, trigger: 'SIGHUP' }, `running blocked pipelines again: ${unblocked.join(', ')}`);
  };
  process.on('SIGHUP', onHup);
  const watcher = watchDirectory(settings.pipelinesDir, () => reload('file change'), log);
  if (watcher) {
    log.info(
      { dir: settings.pipelinesDir, reloadSeconds: timer ? seconds : null },
      `watching ${settings.pipelinesDir} for pipeline files${timer ? ` (and re-reading it every ${seconds} s)` : ''}`,
    );
  }
  // A file added after the pipelines were first read and before the watcher started sent no event:
  // read the directory once more now that any later change does.
  reload('startup');
  return {
    stop() {
      if (timer) clearInterval(timer);
      watcher?.close();
      process.off('SIGHUP', onHup);
    },
  };
}

/** Debounce of the watcher: editors write a file in several steps (truncate, write, rename). */
export const WATCH_DEBOUNCE_MS = 300;

/**
 * A change in the pipelines directory (a file added, changed, removed, renamed) reloads within
 * WATCH_DEBOUNCE_MS, so a new file is picked up in well under 2 s. fs.watch on the directory itself
 * (not recursive: pipeline files live at its top). Where watching is not possible (some network
 * and container file systems) the poll and SIGHUP still reload; a watcher error is logged once and
 * the watcher closed.
 */
function watchDirectory(dir: string, onChange: () => void, log: Logger): FSWatcher | null {
  let pending: NodeJS.Timeout | null = null;
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { persistent: false }, (_event, file) => {
      if (file && !/\.ya?ml$/i.test(String(file))) return;
      if (pending) clearTimeout(pending);
      pending = setTimeout(() => {
        pending = null;
        onChange();
      }, WATCH_DEBOUNCE_MS);
    });
  } catch (err) {
    log.warn({ dir, error: { message: (err as Error).message } }, `cannot watch ${dir} for changes: it is re-read every PGDUCK_RELOAD_SECONDS and on SIGHUP`);
    return null;
  }
  watcher.on('error', (err) => {
    log.warn({ dir, error: { message: err.message } }, `stopped watching ${dir}: it is re-read every PGDUCK_RELOAD_SECONDS and on SIGHUP`);
    watcher.close();
  });
  const close = watcher.close.bind(watcher);
  watcher.close = () => {
    if (pending) clearTimeout(pending);
    close();
  };
  return watcher;
}

/**
 * `pgduck status` shows an invalid file's pipeline as failed, with its first problem (problem
 * messages never hold an environment value). Its checkpoint is left as it was. Skipped when the
 * stem is not a pipeline name, or is the name of a valid pipeline (a duplicate name: that row is
 * the valid one's).
 */
function recordInvalid(store: CheckpointStore, invalid: InvalidPipelineFile[], valid: ResolvedPipeline[], log: Logger): void {
  for (const f of invalid) {
    if (!PIPELINE_NAME.test(f.name) || valid.some((p) => p.spec.name === f.name)) continue;
    const more = f.problems.length > 1 ? ` (and ${f.problems.length - 1} more: pgduck validate)` : '';
    try {
      const message = `invalid configuration, not run: ${formatProblem(f.problems[0])}${more}`;
      store.recordRun(f.name, 'failed', encodeFailure({ kind: 'config', code: 'CONFIG_INVALID', message }));
    } catch (err) {
      log.error({ pipeline: f.name, error: { message: (err as Error).message } }, `could not record ${f.file} as invalid in the state store`);
    }
  }
}
