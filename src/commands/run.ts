/** `pgduck run [--once] [--only name…]` */
import { loadPipelines } from '../config/load-pipelines.js';
import { formatProblems } from '../config/format-problems.js';

import { Lake } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runAllOnce } from '../runner/pool.js';
import { startScheduler } from '../runner/scheduler.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import type { Logger } from '../runner/logger.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';

export interface RunOptions {
  once: boolean;
  only?: string[];
}

/** Load, validate and select pipelines; prints problems and returns null when the config is invalid. */
export function selectPipelines(settings: Settings, only: string[] | undefined, err: NodeJS.WritableStream): PipelineSpec[] | null {
  const { specs, problems } = loadPipelines([settings.pipelinesDir]);
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

export async function runCommand(settings: Settings, opts: RunOptions, log: Logger): Promise<number> {
  const specs = selectPipelines(settings, opts.only, process.stderr);
  if (!specs) return 2;
  if (specs.length === 0) {
    process.stderr.write(`no enabled pipelines in ${settings.pipelinesDir}\n`);
    return 2;
  }
  if (!settings.databaseUrl && specs.some((s) => !s.source.connection)) {
    process.stderr.write('no database configured: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB), or pass --database-url\n');
    return 2;
  }
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  const deps = { lake, store, databaseUrl: settings.databaseUrl ?? '', duckdbPath: settings.duckdbPath, parquetDir: settings.parquetDir, log };
  try {
    if (opts.once) {
      const outcomes = await runAllOnce(specs, deps, settings.concurrency);
      const failed = outcomes.filter((o) => !o.ok);
      for (const o of outcomes) {
        if (o.ok) process.stdout.write(`✓ ${o.pipeline}: ${o.summary.rows} rows in ${o.summary.batches} batches (${o.summary.durationMs} ms)\n`);
        else process.stdout.write(`✗ ${o.pipeline}: ${o.error.message}\n`);
      }
      if (failed.length > 0) process.stderr.write(`${failed.length} pipeline${failed.length > 1 ? 's' : ''} failed: ${failed.map((f) => f.pipeline).join(', ')}\n`);
      return failed.length > 0 ? 1 : 0;
    }
    const scheduler = startScheduler(specs, deps, { concurrency: settings.concurrency, runAtStart: true });
    await new Promise<void>((resolve) => {
      let signals = 0;
      const onSignal = (sig: string) => {
        signals++;
        if (signals > 1) {
          log.warn('second signal: exiting now; the batch in flight will be re-applied on restart');
          process.exit(130);
        }
        log.info({ signal: sig }, 'stopping: finishing batches in flight (send again to exit at once)');
        void scheduler.stop().then(resolve);
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
    });
    return 0;
  } finally {
    await lake.close();
    store.close();
  }
}
