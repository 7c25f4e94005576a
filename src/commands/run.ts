/** `pgduck run [--once] [--only name…]` */
import { basename, extname } from 'node:path';
import { loadPipelines, type ConfigProblem } from '../config/load-pipelines.js';
import { formatProblem, formatProblems } from '../config/format-problems.js';
import { PIPELINE_NAME } from '../config/load-pipeline-file.js';

import { Lake } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runAllOnce } from '../runner/pool.js';
import { compile } from '../runner/compile.js';
import { startScheduler, type Scheduler } from '../runner/scheduler.js';
import { Writable } from 'node:stream';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import type { Logger } from '../runner/logger.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';

export interface RunOptions {
  once: boolean;
  only?: string[];
}

/**
 * Load, validate and select pipelines, strictly: prints problems and returns null when any file is
 * invalid. For the commands that act on the configuration as a whole (verify, reset, demo);
 * `run` uses selectRunnable, which runs the valid files and reports the others.
 */
export function selectPipelines(settings: Settings, only: string[] | undefined, err: NodeJS.WritableStream): PipelineSpec[] | null {
  const { specs, problems } = loadPipelines([settings.pipelinesDir], process.env, settings.duckdbPath);
  if (problems.length > 0) {
    err.write(formatProblems(problems));
    err.write(`pipeline configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}): nothing was run\n`);
    return null;
  }
  if (only && only.length > 0) {
    const unknown = only.filter((n) => !specs.some((s) => s.name === n));
    if (unknown.length > 0) {
      err.write(`unknown pipeline${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${specs.map((s) => s.name).join(', ') || 'none'})\n`);
      return null;
    }
    return specs.filter((s) => only.includes(s.name));
  }
  return specs.filter((s) => s.enabled);
}

/** A pipeline file that will not run because it has problems of its own or loses a cross-file check. */
export interface InvalidPipelineFile {
  file: string;
  /** The file stem: the pipeline name it would have. */
  name: string;
  problems: ConfigProblem[];
}

export interface RunnableSelection {
  /** Valid pipelines to run. */
  specs: PipelineSpec[];
  /** Selected files that are invalid: reported, not run. */
  invalid: InvalidPipelineFile[];
  /** Invalid files left out by --only: mentioned, not counted against the run. */
  invalidElsewhere: InvalidPipelineFile[];
}

/**
 * What `run` runs: every valid pipeline (enabled, or named by --only), even when other files are
 * invalid: one bad file must not stop the tables that are fine (docs/architecture.md, rule 9). Cross-file
 * problems refuse only the later file, as loadPipelines does. Returns null (after saying why) for a
 * usage error: --only names a pipeline no file defines.
 */
export function selectRunnable(settings: Settings, only: string[] | undefined, err: NodeJS.WritableStream): RunnableSelection | null {
  const { specs, problems } = loadPipelines([settings.pipelinesDir], process.env, settings.duckdbPath);
  const byFile = new Map<string, InvalidPipelineFile>();
  for (const problem of problems) {
    const entry = byFile.get(problem.file) ?? { file: problem.file, name: basename(problem.file, extname(problem.file)), problems: [] };
    entry.problems.push(problem);
    byFile.set(problem.file, entry);
  }
  const invalid = [...byFile.values()];
  if (!only || only.length === 0) return { specs: specs.filter((s) => s.enabled), invalid, invalidElsewhere: [] };
  const unknown = only.filter((n) => !specs.some((s) => s.name === n) && !invalid.some((f) => f.name === n));
  if (unknown.length > 0) {
    const known = [...new Set([...specs.map((s) => s.name), ...invalid.map((f) => f.name)])];
    err.write(`unknown pipeline${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${known.join(', ') || 'none'})\n`);
    return null;
  }
  return {
    specs: specs.filter((s) => only.includes(s.name)),
    invalid: invalid.filter((f) => only.includes(f.name)),
    invalidElsewhere: invalid.filter((f) => !only.includes(f.name)),
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function runCommand(settings: Settings, opts: RunOptions, log: Logger): Promise<number> {
  const selection = selectRunnable(settings, opts.only, process.stderr);
  if (!selection) return 2;
  const { specs, invalid, invalidElsewhere } = selection;
  const problems = invalid.flatMap((f) => f.problems);
  if (opts.once) process.stderr.write(formatProblems(problems));
  else for (const p of problems) log.error({ file: p.file, line: p.line, col: p.col, path: p.path || undefined }, formatProblem(p));
  if (invalidElsewhere.length > 0) {
    process.stderr.write(`note: ${plural(invalidElsewhere.length, 'other pipeline file')} invalid (${invalidElsewhere.map((f) => f.file).join(', ')}): pgduck validate lists the problems\n`);
  }
  if (specs.length === 0) {
    process.stderr.write(
      invalid.length > 0
        ? `pipeline configuration is invalid (${plural(problems.length, 'problem')}): nothing was run\n`
        : `no enabled pipelines in ${settings.pipelinesDir}\n`,
    );
    return 2;
  }
  if (!settings.databaseUrl && specs.some((s) => !s.source.connection)) {
    process.stderr.write('no database configured: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB), or pass --database-url\n');
    return 2;
  }
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
  const deps = { lake, store, databaseUrl: settings.databaseUrl ?? '', duckdbPath: settings.duckdbPath, parquetDir: settings.parquetDir, log };
  try {
    recordInvalid(store, invalid, specs, log);
    if (opts.once) {
      const plans = specs.map((s) => compile(s, { duckdbPath: deps.duckdbPath, parquetDir: deps.parquetDir }));
      const outcomes = await runAllOnce(plans, deps, settings.concurrency);
      const failed = outcomes.filter((o) => !o.ok);
      for (const o of outcomes) {
        if (o.ok) process.stdout.write(`✓ ${o.pipeline}: ${o.summary.rows} rows in ${o.summary.batches} batches (${o.summary.durationMs} ms)\n`);
        else process.stdout.write(`✗ ${o.pipeline}: ${o.message}\n`);
      }
      for (const f of invalid) process.stdout.write(`✗ ${f.file}: not run: invalid configuration (${plural(f.problems.length, 'problem')}, printed on stderr)\n`);
      if (failed.length > 0) process.stderr.write(`${plural(failed.length, 'pipeline')} failed: ${failed.map((f) => f.pipeline).join(', ')}\n`);
      if (invalid.length > 0) process.stderr.write(`${plural(invalid.length, 'pipeline file')} invalid, not run: ${invalid.map((f) => f.file).join(', ')}\n`);
      return failed.length > 0 ? 1 : invalid.length > 0 ? 2 : 0;
    }
    if (invalid.length > 0) {
      log.error(
        { files: invalid.map((f) => f.file) },
        `${plural(invalid.length, 'pipeline file')} invalid, not running: ${invalid.map((f) => f.file).join(', ')}; ` +
          `the other ${plural(specs.length, 'pipeline')} run. Fixed files are picked up without a restart`,
      );
    }
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
      reload.stop();
      void scheduler.stop().then(markStopped);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    // Signal handlers run on a later turn of the event loop: both are set by then.
    const scheduler = startScheduler(specs, deps, { concurrency: settings.concurrency, runAtStart: true });
    const reload = watchPipelines(settings, opts.only, scheduler, store, log, invalid);
    await stopped;
    return 0;
  } finally {
    await lake.close();
    store.close();
  }
}

/**
 * The service re-reads the pipelines directory every PGDUCK_RELOAD_SECONDS (default 10; 0: never)
 * and at once on SIGHUP: a file dropped in is scheduled (and runs), a removed one unscheduled, an
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
    if (!selection) return;
    const { invalid } = selection;
    const runnable = selection.specs.filter((s) => {
      if (s.source.connection || settings.databaseUrl) return true;
      log.error({ pipeline: s.name }, `${s.name}: no database configured (DATABASE_URL or source.connection): not scheduled`);
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
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  return {
    stop() {
      if (timer) clearInterval(timer);
      process.off('SIGHUP', onHup);
    },
  };
}

/**
 * `pgduck status` shows an invalid file's pipeline as failed, with its first problem (problem
 * messages never hold an environment value). Its checkpoint is left as it was. Skipped when the
 * stem is not a pipeline name, or is the name of a valid pipeline (a duplicate name: that row is
 * the valid one's).
 */
function recordInvalid(store: CheckpointStore, invalid: InvalidPipelineFile[], specs: PipelineSpec[], log: Logger): void {
  for (const f of invalid) {
    if (!PIPELINE_NAME.test(f.name) || specs.some((s) => s.name === f.name)) continue;
    const more = f.problems.length > 1 ? ` (and ${f.problems.length - 1} more: pgduck validate)` : '';
    try {
      store.recordRun(f.name, 'failed', `invalid configuration, not run: ${formatProblem(f.problems[0])}${more}`);
    } catch (err) {
      log.error({ pipeline: f.name, error: { message: (err as Error).message } }, `could not record ${f.file} as invalid in the state store`);
    }
  }
}
