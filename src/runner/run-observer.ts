/**
 * Watches one run of one pipeline from the outside, through the two hooks run-pipeline.ts offers
 * (RunDeps.onStep and its log), to give the one INFO line per run its per-stage timings:
 *
 * - stage timings: the stages after the read (parquet, drift-check, backfill, upsert, checkpoint) run
 *   one after the other on the run's critical path, so each lasts from its onStep to the next step's
 *   onStep (or to the batch's "batch applied" line). `read` is the rest of the run's time: connecting,
 *   the source guard, and the reads the read-ahead could not hide (the time the run waited on Postgres).
 *
 * The run's bytes are the run's own count (RunSummary.bytes: batch files and backfill files, even of
 * a batch with no rows), not read from here. The per-batch "batch applied" line is passed on at DEBUG (README "Logs": one INFO line per run).
 */
import type { Logger } from '../log/logger.js';
import type { StageName } from '../stages/stage.js';

export interface RunStats {
  /** Parquet bytes written by the run (RunSummary.bytes). */
  bytes: number;
  /** Milliseconds per stage; `read` is what is left of the run's time (see above). */
  stageMs: Record<string, number>;
}

export interface RunObserver {
  /** The logger to give the run: "batch applied" is counted, then logged at DEBUG; everything else passes. */
  log: Logger;
  onStep(stage: StageName, batch: number): void;
  /** Milliseconds per stage, given the run's whole duration. */
  stageMs(totalMs: number): RunStats['stageMs'];
}

const BATCH_LINE = 'batch applied';

export function observeRun(log: Logger, now: () => number = () => performance.now()): RunObserver {
  const stageMs: Record<string, number> = {};
  let open: { stage: string; at: number } | null = null;
  const close = () => {
    if (!open) return;
    stageMs[open.stage] = (stageMs[open.stage] ?? 0) + (now() - open.at);
    open = null;
  };
  const info = (obj: unknown, msg?: unknown, ...rest: unknown[]) => {
    if (msg === BATCH_LINE && obj && typeof obj === 'object') {
      close();
      (log.debug as (...args: unknown[]) => void)(obj, msg, ...rest);
      return;
    }
    (log.info as (...args: unknown[]) => void)(obj, msg, ...rest);
  };
  const wrapped = new Proxy(log, {
    get(target, prop) {
      if (prop === 'info') return info;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    log: wrapped,
    onStep(stage) {
      if (stage === 'extract') return; // read ahead, off the critical path: not timed on its own
      close();
      open = { stage, at: now() };
    },
    stageMs(totalMs) {
      close();
      const timed = Object.values(stageMs).reduce((a, b) => a + b, 0);
      const out: Record<string, number> = { read: Math.max(0, Math.round(totalMs - timed)) };
      for (const [stage, ms] of Object.entries(stageMs)) out[stage] = Math.round(ms);
      return out;
    },
  };
}
