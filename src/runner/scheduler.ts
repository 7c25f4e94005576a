/**
 * `run` as a service: each pipeline on its own cron schedule (croner: exact across DST changes,
 * where node-cron skipped an hour — docs/architecture.md#facts-scheduling), never overlapping itself, all sharing one p-limit
 * pool. The set of pipelines can change while it runs (`update`: a file dropped into pipelines/ is
 * picked up without a restart). Stops cleanly: no new runs start, runs in flight finish their
 * current batch.
 *
 * A failed run is handled by its kind (src/runner/retry-policy.ts, one PipelineHealth per
 * pipeline): transient failures are retried on a backoff timer of their own, needs-action and
 * config failures block the pipeline until its file or state changes. Each pipeline's state is
 * written to the state store for `pgduck status`. The other pipelines never notice.
 */
import { Cron } from 'croner';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { createPool, runRecorded, type PipelineOutcome } from './pool.js';
import type { RunDeps } from './run-pipeline.js';
import { PipelineHealth, type HealthSnapshot, type LogLevel } from './pipeline-health.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
import { createPipelineTurns, type PipelineTurns } from './pipeline-turns.js';
import { targetIdentity } from '../duckdb/target-identity.js';
import { createReconcileSchedules } from './pipeline-reconcile.js';
import { cronZone } from '../config/cron-zone.js';

/** How often a blocked pipeline is looked at between its ticks (watchBlocked): one state-store read each. */
const BLOCKED_POLL_MS = 2_000;

export interface SchedulerChanges {
  added: string[];
  removed: string[];
  /** Rescheduled with their new file; a run in flight finishes with the spec it started with. */
  changed: string[];
}

/** What the service knows of one pipeline now (for health checks and metrics). */
export interface PipelineView {
  pipeline: string;
  health: Readonly<HealthSnapshot>;
  nextRun: Date | null;
  /** The next tick of its `reconcile:` schedule (null: it has none). */
  nextReconcile: Date | null;
  /** Its cursor column and source.cursor_timezone (the zone of a timestamp cursor's wall-clock values; null: unknown), for the lag metric. */
  cursor?: { column: string; timezone: string | null };
}

export interface Scheduler {
  /**
   * Reconcile with the pipelines as the directory reads now: new ones are scheduled (and run at
   * once when `runAtStart`), removed ones unscheduled, changed ones rescheduled (a changed file
   * unblocks its pipeline). Never interrupts a run in flight. Not re-entrant with stop().
   */
  update(pipelines: ResolvedPipeline[]): SchedulerChanges;
  /** Someone says they fixed something (SIGHUP): every blocked pipeline runs now. Returns their names. */
  unblockAll(): string[];
  view(): PipelineView[];
  /** Resolves when every in-flight run has finished after stop(). */
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  concurrency: number;
  runAtStart: boolean;
  retry?: RetryPolicy;
  /** Told of every finished run (metrics; the live findings stated after a pipeline's first success). */
  onOutcome?: (outcome: PipelineOutcome, health: Readonly<HealthSnapshot>, pipeline: ResolvedPipeline) => void;
  /** Test seams: the clock and the jitter. */
  now?: () => number;
  random?: () => number;
}

interface Entry {
  pipeline: ResolvedPipeline;
  job: Cron;
  key: string;
  health: PipelineHealth;
  retryTimer: NodeJS.Timeout | null;
}

type Why = 'start' | 'tick' | 'retry' | 'unblocked';

export function startScheduler(pipelines: ResolvedPipeline[], deps: RunDeps, opts: SchedulerOptions): Scheduler {
  const limit = createPool(opts.concurrency);
  const policy = opts.retry ?? DEFAULT_RETRY_POLICY;
  const now = opts.now ?? Date.now;
  const inFlight = new Set<Promise<unknown>>();
  let stopping = false;
  const { log, store } = deps;
  const runDeps: RunDeps = { ...deps, shouldStop: () => stopping };
  const scheduled = new Map<string, Entry>();
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

  // --- reconcile: one turn per target table (a pipeline's sync and its reconcile never overlap, nor do two
  // pipelines writing one table across a reload) and the reconcile schedules (src/runner/pipeline-reconcile.ts).
  const byTable = createPipelineTurns();
  // The table a pipeline writes, as its current entry says (a removed one's run in flight keeps the key it took).
  const tableOf = (name: string) => {
    const e = scheduled.get(name);
    return e ? targetIdentity(e.pipeline.duckdbPath, e.pipeline.spec.target) : `pipeline:${name}`;
  };
  const turns: PipelineTurns = {
    take: (name, kind, fn) => byTable.take(tableOf(name), kind, fn, name),
    state: (name) => byTable.state(tableOf(name)),
  };
  const reconciles = createReconcileSchedules({
    ...deps,
    turns,
    turnKey: tableOf,
    limit,
    current: (name) => {
      const e = scheduled.get(name);
      return e ? { pipeline: e.pipeline, health: e.health.snapshot } : null;
    },
    stopping: () => stopping,
    track: (p) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
  });
  // --- end reconcile

  const generationOf = (name: string): number => {
    try {
      return store.get(name)?.generation ?? 0;
    } catch {
      return 0;
    }
  };

  /** The state for `pgduck status` (another process reads it). Never throws: a locked store must not stop the service. */
  const writeState = (name: string, h: Readonly<HealthSnapshot>) => {
    try {
      const s = h.streak;
      store.setRunnerState({
        pipeline: name,
        state: h.state,
        since: s ? iso(s.since) : null,
        attempts: s?.attempts ?? 0,
        retryAt: iso(h.retryAt),
        kind: s?.kind ?? null,
        code: s?.code ?? null,
        message: s?.message ?? null,
        fix: s?.fix ?? null,
      });
    } catch (err) {
      log.debug({ pipeline: name, error: { message: (err as Error).message } }, 'could not write the service state of a pipeline');
    }
  };

  const clearRetry = (entry: Entry) => {
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = null;
  };

  // A pipeline never runs twice at once (a start-up run and a cron tick could otherwise overlap).
  const running = new Set<string>();
  // Asked to start (a file added or changed, a failed run of the file it replaced) while a run of the same
  // name was in flight: started when that run ends (found by review: such a start was dropped, and the
  // pipeline waited for its next cron tick, a year for a yearly schedule).
  const again = new Set<string>();
  const fire = (name: string, why: Why) => {
    const entry = scheduled.get(name);
    if (stopping || !entry) return Promise.resolve();
    if (running.has(name)) {
      if (why === 'start') again.add(name);
      return Promise.resolve();
    }
    if (why === 'tick') {
      const blocked = entry.health.snapshot.state === 'blocked';
      if (entry.health.onTick(now(), blocked ? generationOf(name) : null) === 'skip') return Promise.resolve();
      if (blocked) log.info({ pipeline: name }, `${name}: running again (its state changed, or the blocked pipeline's probe is due)`);
    }
    if (why === 'retry' && !entry.health.retryDue()) return Promise.resolve();
    clearRetry(entry);
    running.add(name);
    // The table whose turn this run takes. If its file is edited to write another table before the run
    // gets its pool slot, it must not run under this turn (found by review: it wrote a table another run
    // was writing, every key twice): it gives the turn back and is fired again under the new table's.
    const table = tableOf(name);
    const sync = async () => {
      // The spec as of the turn in the pool: an update while it waited counts.
      const current = scheduled.get(name);
      if (stopping || !current) return;
      if (tableOf(name) !== table) {
        again.add(name);
        return;
      }
      current.health.started();
      writeState(name, current.health.snapshot);
      const generation = generationOf(name);
      // Unscheduled meanwhile (its file removed, or made invalid: its recorded config failure must stay what
      // status shows, found by review): the outcome is not recorded as the pipeline's last run.
      const outcome = await runRecorded(current.pipeline, runDeps, { logFailure: false, record: () => scheduled.has(name) });
      // Rescheduled (its file changed) or removed meanwhile: the new entry starts from a clean state, but
      // a failure of this run is still said (its health is the replaced entry's, so settle does not say it).
      if (scheduled.get(name) !== current) {
        if (!outcome.ok) {
          log.warn(
            { pipeline: name, error: { message: outcome.message, kind: outcome.kind, code: outcome.code, fix: outcome.error.fix } },
            `${outcome.message} (its pipeline file changed or was removed while it ran: the file as it is now runs once this run has ended)`,
          );
          // The file as it is now runs at once, not at its next tick (found by review: a transient failure was never retried).
          if (scheduled.has(name)) again.add(name);
        }
        return;
      }
      settle(current, outcome, generation);
    };
    // The pipeline's turn first (its reconcile may hold it), then a slot of the pool.
    const p: Promise<unknown> = byTable
      .take(table, 'sync', () => limit(sync), name)
      .finally(() => {
        running.delete(name);
        inFlight.delete(p);
        if (again.delete(name)) void fire(name, 'start');
      });
    inFlight.add(p);
    return p;
  };

  const settle = (entry: Entry, outcome: PipelineOutcome, generation: number) => {
    const name = entry.pipeline.spec.name;
    const { health } = entry;
    if (outcome.ok) {
      const ended = health.succeeded();
      if (ended) {
        log.info(
          { pipeline: name, attempts: ended.attempts, since: iso(ended.since), error: { kind: ended.kind, code: ended.code } },
          `${name}: recovered after ${ended.attempts} failed attempt${ended.attempts === 1 ? '' : 's'} (${ended.code}, failing since ${iso(ended.since)})`,
        );
      }
    } else {
      const { error } = outcome;
      const decision = health.failed({ kind: outcome.kind, code: outcome.code, message: outcome.message, fix: error.fix }, now(), generation);
      const { streak } = decision;
      let next: string;
      if (decision.reaction === 'retry') {
        next = `retrying in ${seconds(decision.delayMs ?? 0)} (attempt ${streak.attempts})`;
        if (!stopping) {
          entry.retryTimer = setTimeout(() => void fire(name, 'retry'), decision.delayMs ?? 0);
          entry.retryTimer.unref();
        }
      } else {
        const probe = policy.blockedProbeMs > 0 ? `, or in ${seconds(policy.blockedProbeMs)}` : '';
        next = `blocked until its file or state changes (pgduck reset), SIGHUP${probe}${error.fix ? `; fix: ${error.fix}` : ''}`;
        watchBlocked(entry);
      }
      const reminder = decision.level === 'warn' ? `still failing after ${streak.attempts} attempts since ${iso(streak.since)}: ` : '';
      const fields = {
        pipeline: name,
        state: health.snapshot.state,
        attempts: streak.attempts,
        retryAt: iso(health.snapshot.retryAt),
        error: { message: outcome.message, kind: outcome.kind, code: outcome.code, fix: error.fix },
      };
      logAt(decision.level, fields, `${reminder}${outcome.message} — ${next}`);
    }
    writeState(name, health.snapshot);
    opts.onOutcome?.(outcome, health.snapshot, entry.pipeline);
  };

  /**
   * While blocked, the pipeline is looked at every BLOCKED_POLL_MS (or at its probe, if sooner) as a cron
   * tick would: it runs when its checkpoint's generation moved (pgduck reset) or the probe is due. Not
   * only at its ticks (found by review: with a daily or yearly schedule the probe status announced never
   * came, nor did the run a reset asks for). One store read per look.
   */
  const watchBlocked = (entry: Entry) => {
    clearRetry(entry);
    if (stopping) return;
    const name = entry.pipeline.spec.name;
    const { retryAt } = entry.health.snapshot;
    const wait = Math.max(0, Math.min(BLOCKED_POLL_MS, retryAt === null ? BLOCKED_POLL_MS : retryAt - now()));
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = null;
      if (scheduled.get(name) !== entry || entry.health.snapshot.state !== 'blocked') return;
      void fire(name, 'tick').then(() => {
        if (scheduled.get(name) === entry && entry.health.snapshot.state === 'blocked' && !running.has(name)) watchBlocked(entry);
      });
    }, wait);
    entry.retryTimer.unref();
  };

  const logAt = (level: LogLevel, fields: object, msg: string) => log[level](fields, msg);

  const schedule = (pipeline: ResolvedPipeline) => {
    const { spec } = pipeline;
    const job = new Cron(spec.schedule, { ...cronZone(spec.timezone), protect: true, name: spec.name }, async () => {
      await fire(spec.name, 'tick');
    });
    const entry: Entry = { pipeline, job, key: JSON.stringify(pipeline), health: new PipelineHealth(policy, opts.random), retryTimer: null };
    scheduled.set(spec.name, entry);
    writeState(spec.name, entry.health.snapshot);
    log.info({ pipeline: spec.name, schedule: spec.schedule, timezone: spec.timezone, next: job.nextRun()?.toISOString() }, 'scheduled');
    reconciles.schedule(pipeline);
  };

  const update = (next: ResolvedPipeline[]): SchedulerChanges => {
    const changes: SchedulerChanges = { added: [], removed: [], changed: [] };
    if (stopping) return changes;
    const names = new Set(next.map((p) => p.spec.name));
    for (const [name, entry] of scheduled) {
      if (names.has(name)) continue;
      entry.job.stop();
      clearRetry(entry);
      scheduled.delete(name);
      reconciles.unschedule(name);
      changes.removed.push(name);
      try {
        store.clearRunnerState(name);
      } catch {
        // status then shows its last state; nothing depends on it
      }
    }
    for (const pipeline of next) {
      const { name } = pipeline.spec;
      const entry = scheduled.get(name);
      if (entry && entry.key === JSON.stringify(pipeline)) continue;
      const wasFailing = entry ? entry.health.snapshot.state === 'blocked' || entry.health.snapshot.state === 'backing-off' : false;
      if (entry) {
        entry.job.stop();
        clearRetry(entry);
      }
      schedule(pipeline);
      (entry ? changes.changed : changes.added).push(name);
      // New: its bootstrap starts now. Changed while failing: the edit may be the fix, try it now.
      if ((!entry && opts.runAtStart) || wasFailing) void fire(name, 'start');
    }
    return changes;
  };

  update(pipelines);

  return {
    update,
    unblockAll() {
      const names: string[] = [];
      for (const [name, entry] of scheduled) {
        if (!entry.health.unblock()) continue;
        names.push(name);
        writeState(name, entry.health.snapshot);
        void fire(name, 'unblocked');
      }
      return names;
    },
    view() {
      return [...scheduled.entries()].map(([pipeline, e]) => ({
        pipeline,
        health: e.health.snapshot,
        nextRun: e.job.nextRun(),
        nextReconcile: reconciles.nextRun(pipeline),
        cursor: { column: e.pipeline.spec.source.cursor, timezone: e.pipeline.spec.source.cursorTimezone ?? null },
      }));
    },
    async stop() {
      stopping = true;
      reconciles.stopAll();
      for (const entry of scheduled.values()) {
        entry.job.stop();
        clearRetry(entry);
      }
      // No limit.clearQueue(): p-limit drops cleared tasks without settling their promises, so the
      // wait below would never end. A queued run sees `stopping` when its turn comes and returns at once.
      await Promise.allSettled([...inFlight]);
    },
  };
}

function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
