/**
 * `run` as a service: each pipeline on its own cron schedule (croner: exact across DST changes,
 * where node-cron skipped an hour — docs/architecture.md#facts-scheduling), never overlapping itself, all sharing one p-limit
 * pool. The set of pipelines can change while it runs (`update`: a file dropped into pipelines/ is
 * picked up without a restart). Stops cleanly: no new runs start, runs in flight finish their
 * current batch.
 */
import { Cron } from 'croner';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { createPool, runRecorded } from './pool.js';
import type { RunDeps } from './run-pipeline.js';

export interface SchedulerChanges {
  added: string[];
  removed: string[];
  /** Rescheduled with their new file; a run in flight finishes with the spec it started with. */
  changed: string[];
}

export interface Scheduler {
  /**
   * Reconcile with the pipelines as the directory reads now: new ones are scheduled (and run at
   * once when `runAtStart`), removed ones unscheduled, changed ones rescheduled. Never interrupts a
   * run in flight. Not re-entrant with stop().
   */
  update(pipelines: ResolvedPipeline[]): SchedulerChanges;
  /** Resolves when every in-flight run has finished after stop(). */
  stop(): Promise<void>;
}

export function startScheduler(pipelines: ResolvedPipeline[], deps: RunDeps, opts: { concurrency: number; runAtStart: boolean }): Scheduler {
  const limit = createPool(opts.concurrency);
  const inFlight = new Set<Promise<unknown>>();
  let stopping = false;
  const runDeps: RunDeps = { ...deps, shouldStop: () => stopping };
  const scheduled = new Map<string, { pipeline: ResolvedPipeline; job: Cron; key: string }>();

  // A pipeline never runs twice at once (a start-up run and a cron tick could otherwise overlap).
  const running = new Set<string>();
  const fire = (name: string) => {
    const entry = scheduled.get(name);
    if (stopping || !entry || running.has(name)) return Promise.resolve();
    running.add(name);
    const p: Promise<unknown> = limit(async () => {
      // The spec as of the turn in the pool: an update while it waited counts.
      const current = scheduled.get(name);
      if (!stopping && current) await runRecorded(current.pipeline, runDeps);
    }).finally(() => {
      running.delete(name);
      inFlight.delete(p);
    });
    inFlight.add(p);
    return p;
  };

  const schedule = (pipeline: ResolvedPipeline) => {
    const { spec } = pipeline;
    const job = new Cron(spec.schedule, { timezone: spec.timezone, protect: true, name: spec.name }, async () => {
      await fire(spec.name);
    });
    scheduled.set(spec.name, { pipeline, job, key: JSON.stringify(pipeline) });
    deps.log.info({ pipeline: spec.name, schedule: spec.schedule, timezone: spec.timezone, next: job.nextRun()?.toISOString() }, 'scheduled');
  };

  const update = (next: ResolvedPipeline[]): SchedulerChanges => {
    const changes: SchedulerChanges = { added: [], removed: [], changed: [] };
    if (stopping) return changes;
    const names = new Set(next.map((p) => p.spec.name));
    for (const [name, entry] of scheduled) {
      if (names.has(name)) continue;
      entry.job.stop();
      scheduled.delete(name);
      changes.removed.push(name);
    }
    for (const pipeline of next) {
      const { name } = pipeline.spec;
      const entry = scheduled.get(name);
      if (entry && entry.key === JSON.stringify(pipeline)) continue;
      entry?.job.stop();
      schedule(pipeline);
      (entry ? changes.changed : changes.added).push(name);
      if (!entry && opts.runAtStart) void fire(name);
    }
    return changes;
  };

  update(pipelines);

  return {
    update,
    async stop() {
      stopping = true;
      for (const { job } of scheduled.values()) job.stop();
      // No limit.clearQueue(): p-limit drops cleared tasks without settling their promises, so the
      // wait below would never end. A queued run sees `stopping` when its turn comes and returns at once.
      await Promise.allSettled([...inFlight]);
    },
  };
}
