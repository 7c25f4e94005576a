/**
 * `pgduck status`: per pipeline its state (idle, running, backing off until…, blocked with the
 * reason and fix, disabled, failed with its kind), rows in the target, last run, last error and
 * next run, the last reconcile, from the state store and the pipeline files only: it never opens the DuckDB file, so it
 * works while `pgduck run` holds it. Whether a runner is up comes from its lock file
 * (src/runner/runner-lock.ts); what it is doing, from the state it writes (src/runner/scheduler.ts).
 */
import { existsSync } from 'node:fs';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import { decodeFailure } from '../errors/recorded-failure.js';
import { join } from 'node:path';
import { loadPipelines } from '../config/load-pipelines.js';
import { pipelineStatus, renderStatus, type RunnerInfo } from '../report/status-view.js';
import { PROCESS_LOCK_ENV, readLockHolder, staleReason } from '../runner/runner-lock.js';
import { lagOfPipelines, renderLag, type LoadedPipelines } from '../live/pipelines-lag.js';
import { nextFireTimes } from '../runner/compile.js';
import { historySizes, renderHistorySizes } from '../history/history-size.js';

export async function statusCommand(settings: Settings, opts: { json: boolean; width?: number; connect?: boolean }): Promise<number> {
  const path = checkpointDbPath(settings);
  if (!existsSync(path)) {
    process.stdout.write(`no state yet (${path} does not exist): run \`pgduck run --once\` first\n`);
    return 0;
  }
  const store = new CheckpointStore(path);
  try {
    const now = new Date();
    const checkpoints = store.all().map((c) => {
      const failure = c.lastError === null ? null : decodeFailure(c.lastError);
      return { ...c, lastError: failure?.message ?? null, lastErrorKind: failure?.kind ?? null, lastErrorCode: failure?.code ?? null };
    });
    const events = store.schemaEvents();
    const backfills = store.backfills();
    const runner = runnerInfo(settings);
    const runnerStates = new Map(store.runnerStates().map((r) => [r.pipeline, r]));
    // Read once: the schedules below and, with --connect, the sources to measure.
    const loaded = validPipelineFiles(settings);
    const files = new Map(('specs' in loaded ? loaded.specs : []).map((s) => [s.name, s]));
    const names = [...new Set([...files.keys(), ...checkpoints.map((c) => c.pipeline)])].sort();
    const pipelines = names.map((name) => {
      const file = files.get(name) ?? null;
      return pipelineStatus({
        pipeline: name,
        checkpoint: store.get(name),
        runner: runnerStates.get(name) ?? null,
        runnerUp: runner ? runner.up : false,
        file: file ? { enabled: file.enabled } : null,
        nextTick: file ? nextTick(file.schedule, file.timezone) : null,
        lastReconcile: store.lastReconcile(name),
        // The service keeps its reconciles on this schedule (src/runner/pipeline-reconcile.ts): the same cron, so the same next tick.
        nextReconcile: file?.reconcile ? nextTick(file.reconcile.schedule, file.reconcile.timezone) : null,
      });
    });
    const lag = opts.connect ? await lagOfPipelines(loaded, settings, store) : null;
    const history = historySizes(settings.parquetDir, names);
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ runner, pipelines, checkpoints, schemaEvents: events, backfills, history, ...(lag ? { lag: Object.fromEntries(lag) } : {}) }, null, 2)}\n`,
      );
      return 0;
    }
    process.stdout.write(renderStatus(pipelines, runner, { now, width: opts.width ?? 100 }));
    process.stdout.write(renderHistorySizes(history));
    if (lag) process.stdout.write(renderLag(lag));
    if (events.length > 0) process.stdout.write(`\nschema events:\n${events.map((e) => `  ${e.at} ${e.pipeline} ${e.kind}: ${e.detail}`).join('\n')}\n`);
    const pending = backfills.filter((b) => b.finishedAt === null);
    if (pending.length > 0) {
      process.stdout.write(
        `\nbackfills in progress (resumed by the next run):\n${pending
          .map(
            (b) =>
              `  ${b.pipeline} #${b.id} ${b.columns.map((c) => c.name).join(', ')}: ${b.rowsDone} rows done${b.position ? `, up to key ${b.position.join(', ')}` : ''}`,
          )
          .join('\n')}\n`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}

/** The `pgduck run` holding this state directory, from its lock file (src/runner/runner-lock.ts). */
function runnerInfo(settings: Settings): RunnerInfo | null {
  const holder = readLockHolder(join(settings.stateDir, 'pgduck-run.lock'));
  if (!holder) return null;
  const up = holder.host !== PROCESS_LOCK_ENV.host ? null : staleReason(holder, PROCESS_LOCK_ENV) === null;
  return { pid: holder.pid, host: holder.host, startedAt: holder.startedAt, up };
}

/**
 * The valid pipeline files: whether each is enabled and when it (and its reconcile) fires. Invalid
 * files are left out (status shows their recorded failure); a directory that cannot be read gives
 * its error (status reads the state store; the files only add the schedules).
 */
function validPipelineFiles(settings: Settings): LoadedPipelines {
  if (!existsSync(settings.pipelinesDir)) return { specs: [] };
  try {
    return { specs: loadPipelines([settings.pipelinesDir], process.env, settings.duckdbPath).specs };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function nextTick(schedule: string, timezone: string): string | null {
  try {
    return nextFireTimes(schedule, timezone, 1)[0] ?? null;
  } catch {
    return null;
  }
}
