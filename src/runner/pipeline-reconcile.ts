/**
 * The service's hard-delete reconciles: each pipeline with a `reconcile:` block gets a croner job of
 * its own (its cron, its time zone, else the pipeline's), which runs src/repair/reconcile-pipeline.ts
 * as `pgduck reconcile` does, through the service's Lake (DuckDB locks a file per process: a second
 * instance of a file the Lake holds would open without complaint, so the service never makes one).
 *
 * A reconcile takes the pipeline's turn (src/runner/pipeline-turns.ts), so it never runs with that
 * pipeline's sync, then a slot of the shared pool. A tick is skipped, logged at DEBUG with why, while
 * the pipeline has not finished its bootstrap or is blocked or backing off (checked at the tick and
 * again when the turn comes), and dropped while a reconcile of it already waits or runs. Its outcome
 * is recorded in the state store; a failure is logged with its kind and code (the message cleaned of
 * the password), never touches the pipeline's health, retry or checkpoint: the sync goes on. One INFO
 * line per reconcile that found rows gone (removed, or marked under hard_delete_mode mark) or was
 * stopped by the service stopping (it checks between key ranges); DEBUG when nothing.
 */
import { Cron } from 'croner';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import type { Lake, OpenDuckDb } from '../duckdb/lake.js';
import type { Logger } from '../log/logger.js';
import { reconcilePipeline } from '../repair/reconcile-pipeline.js';
import { goneOutcome } from '../report/gone-outcome.js';
import type { PipelineOutcome } from './pool.js';
import type { CheckpointStore, ReconcileRecord } from '../state/checkpoint-store.js';
import type { HealthSnapshot } from './pipeline-health.js';
import type { PipelineTurns } from './pipeline-turns.js';
import { cronZone } from '../config/cron-zone.js';

export interface ReconcileSchedulesDeps {
  lake: Lake;
  store: CheckpointStore;
  log: Logger;
  turns: PipelineTurns;
  /** The table whose turn a pipeline takes now (the scheduler's key); a reconcile whose pipeline moved to another table while it waited does not run. */
  turnKey?: (name: string) => string;
  /** The service's pool (p-limit): a reconcile takes a slot like a run. */
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The pipeline as scheduled now and its health; null when it is no longer scheduled. */
  current: (name: string) => { pipeline: ResolvedPipeline; health: Readonly<HealthSnapshot> } | null;
  stopping: () => boolean;
  /** Told of every reconcile started, so that stop() can wait for it. */
  track: (p: Promise<unknown>) => void;
  /** Test seam. */
  reconcile?: (pipeline: ResolvedPipeline, store: CheckpointStore, opts: { openDuckDb: OpenDuckDb; shouldStop: () => boolean }) => Promise<ReconcileRecord>;
}

export interface ReconcileSchedules {
  /** (Re)schedule a pipeline's reconcile as its file says now; without a `reconcile` block, unschedule it. */
  schedule(pipeline: ResolvedPipeline): void;
  unschedule(name: string): void;
  nextRun(name: string): Date | null;
  /** No more ticks (stop()); reconciles in flight are tracked and finish. */
  stopAll(): void;
  /** Fire a pipeline's reconcile now, as a tick would (tests). */
  fire(name: string): Promise<void>;
}

export function createReconcileSchedules(deps: ReconcileSchedulesDeps): ReconcileSchedules {
  const { log, store } = deps;
  const jobs = new Map<string, { job: Cron; key: string }>();
  const openDuckDb: OpenDuckDb = (path, fn) => deps.lake.withSession(path, fn);
  const reconcile = deps.reconcile ?? reconcilePipeline;

  /** Why a reconcile of this pipeline must not run now, or null when it may. */
  const skipReason = (name: string): string | null => {
    const current = deps.current(name);
    if (!current) return 'no longer scheduled';
    const { state } = current.health;
    if (state === 'blocked') return 'the pipeline is blocked (its sync needs action first)';
    if (state === 'backing-off') return 'the pipeline is backing off after a failed run';
    let bootstrapped = false;
    try {
      bootstrapped = store.get(name)?.bootstrapDone ?? false;
    } catch {
      return 'the state store cannot be read';
    }
    return bootstrapped ? null : 'the pipeline has not finished its bootstrap';
  };

  const fire = (name: string): Promise<void> => {
    if (deps.stopping()) return Promise.resolve();
    const early = skipReason(name);
    if (early) {
      log.debug({ pipeline: name, reconcile: 'skipped' }, `${name}: reconcile skipped: ${early}`);
      return Promise.resolve();
    }
    const table = deps.turnKey?.(name);
    const p = deps.turns
      .take(name, 'reconcile', () =>
        deps.limit(async () => {
          // The turn came after a sync, perhaps: what it left decides.
          if (deps.stopping()) return;
          // Its file now writes another table than the turn it holds: left to the next tick, under that table's turn.
          if (table !== undefined && deps.turnKey?.(name) !== table) {
            log.debug({ pipeline: name, reconcile: 'skipped' }, `${name}: reconcile skipped: its target changed while it waited; the next tick runs it`);
            return;
          }
          const why = skipReason(name);
          if (why) {
            log.debug({ pipeline: name, reconcile: 'skipped' }, `${name}: reconcile skipped: ${why}`);
            return;
          }
          const { pipeline } = deps.current(name)!;
          // A stop (SIGTERM) ends it between key ranges instead of waiting for the whole pass.
          const r = await reconcile(pipeline, store, { openDuckDb, shouldStop: deps.stopping });
          report(r);
        }),
      )
      .then(
        (res) => {
          if (!res.ran) log.debug({ pipeline: name, reconcile: 'dropped' }, `${name}: reconcile tick dropped: a reconcile of it already waits or runs`);
        },
        (err: unknown) => {
          // reconcilePipeline never throws; anything here is a bug in this module. The service goes on.
          log.error({ pipeline: name, error: { message: (err as Error).message, kind: 'internal' } }, `${name}: reconcile failed: ${(err as Error).message}`);
        },
      );
    deps.track(p);
    return p;
  };

  const report = (r: ReconcileRecord) => {
    const fields = {
      pipeline: r.pipeline,
      gone: r.gone,
      removed: r.removed,
      marked: r.marked,
      sourceKeys: r.sourceKeys,
      targetKeys: r.targetKeys,
      rowsRead: r.rowsRead,
      ms: r.durationMs,
    };
    if (r.error) {
      log[r.errorKind === 'transient' ? 'warn' : 'error'](
        { ...fields, error: { message: r.error, kind: r.errorKind, code: r.errorCode } },
        `${r.pipeline}: reconcile failed (${r.errorKind} ${r.errorCode}): ${r.error}; the sync goes on, the next reconcile tries again`,
      );
    } else if (r.stopped) {
      log.info(fields, `${r.pipeline}: reconcile stopped before it finished (the service is stopping): nothing of the unfinished round applied`);
    } else if (r.gone > 0) {
      log.info(fields, `${r.pipeline}: reconciled: ${r.gone} row${r.gone === 1 ? '' : 's'} gone from the source, ${goneOutcome(r)}`);
    } else {
      log.debug(fields, `${r.pipeline}: reconciled: no hard deletes`);
    }
  };

  const unschedule = (name: string) => {
    jobs.get(name)?.job.stop();
    jobs.delete(name);
  };

  return {
    schedule(pipeline) {
      const { name, reconcile: block } = pipeline.spec;
      const key = JSON.stringify(block ?? null);
      if (jobs.get(name)?.key === key) return;
      unschedule(name);
      if (!block || deps.stopping()) return;
      // Not awaited (no croner `protect`): a tick while one waits or runs reaches the turns, which drop it with a DEBUG line.
      const job = new Cron(block.schedule, { ...cronZone(block.timezone), name: `${name}:reconcile` }, () => {
        void fire(name);
      });
      jobs.set(name, { job, key });
      log.info({ pipeline: name, schedule: block.schedule, timezone: block.timezone, next: job.nextRun()?.toISOString() }, 'reconcile scheduled');
    },
    unschedule,
    nextRun(name) {
      return jobs.get(name)?.job.nextRun() ?? null;
    },
    stopAll() {
      for (const name of [...jobs.keys()]) unschedule(name);
    },
    fire,
  };
}

/**
 * `run --once --reconcile`: after the syncs, each pipeline with a `reconcile:` block whose sync
 * succeeded and whose bootstrap is done is reconciled, one after the other, through the run's Lake.
 * The others are left out, each with why.
 */
export async function reconcileAfterOnce(
  pipelines: ResolvedPipeline[],
  outcomes: PipelineOutcome[],
  deps: { lake: Lake; store: CheckpointStore },
): Promise<{ records: ReconcileRecord[]; skipped: { pipeline: string; why: string }[] }> {
  const openDuckDb: OpenDuckDb = (path, fn) => deps.lake.withSession(path, fn);
  const records: ReconcileRecord[] = [];
  const skipped: { pipeline: string; why: string }[] = [];
  for (const pipeline of pipelines) {
    const { name } = pipeline.spec;
    if (!pipeline.spec.reconcile) continue;
    const outcome = outcomes.find((o) => o.pipeline === name);
    if (!outcome?.ok) {
      skipped.push({ pipeline: name, why: 'its sync failed' });
      continue;
    }
    if (!outcome.summary.bootstrapDone) {
      skipped.push({ pipeline: name, why: 'its bootstrap is not finished' });
      continue;
    }
    records.push(await reconcilePipeline(pipeline, deps.store, { openDuckDb }));
  }
  return { records, skipped };
}
