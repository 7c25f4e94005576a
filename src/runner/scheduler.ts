/**
 * `run` as a service: each pipeline on its own cron schedule (croner: exact across DST changes,
 * where node-cron skipped an hour — DESIGN.md), never overlapping itself (`protect`), all sharing
 * one p-limit pool. Stops cleanly: no new runs start, runs in flight finish their current batch.
 */
import { Cron } from 'croner';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { createPool, runRecorded } from './pool.js';
import type { RunDeps } from './run-pipeline.js';

export interface Scheduler {
  /** Resolves when every in-flight run has finished after stop(). */
  stop(): Promise<void>;
}

export function startScheduler(specs: PipelineSpec[], deps: RunDeps, opts: { concurrency: number; runAtStart: boolean }): Scheduler {
  const limit = createPool(opts.concurrency);
  const inFlight = new Set<Promise<unknown>>();
  let stopping = false;
  const runDeps: RunDeps = { ...deps, shouldStop: () => stopping };

  // A pipeline never runs twice at once (a start-up run and a cron tick could otherwise overlap).
  const running = new Set<string>();
  const fire = (spec: PipelineSpec) => {
    if (stopping || running.has(spec.name)) return Promise.resolve();
    running.add(spec.name);
    const p: Promise<unknown> = limit(async () => {
      if (!stopping) await runRecorded(spec, runDeps);
    }).finally(() => {
      running.delete(spec.name);
      inFlight.delete(p);
    });
    inFlight.add(p);
    return p;
  };

  const jobs = specs.map((spec) => {
    const job = new Cron(spec.schedule, { timezone: spec.timezone, protect: true, name: spec.name }, async () => {
      await fire(spec);
    });
    deps.log.info({ pipeline: spec.name, schedule: spec.schedule, timezone: spec.timezone, next: job.nextRun()?.toISOString() }, 'scheduled');
    return job;
  });
  if (opts.runAtStart) for (const spec of specs) void fire(spec);

  return {
    async stop() {
      stopping = true;
      for (const job of jobs) job.stop();
      // No limit.clearQueue(): p-limit drops cleared tasks without settling their promises, so the
      // wait below would never end. A queued run sees `stopping` when its turn comes and returns at once.
      await Promise.allSettled([...inFlight]);
    },
  };
}
