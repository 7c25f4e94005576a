/**
 * Named crash points for tests (crash safety, docs/architecture.md, rule 5). Enabled only by PGDUCK_FAULT, e.g.
 * `PGDUCK_FAULT=after-upsert` (first time reached) or `after-upsert:3` (third time); the process
 * then SIGKILLs itself, exactly like a power cut from the runner's point of view. Without the
 * variable every point is a no-op; an unknown point name fails at start rather than never firing.
 *
 *   before-extract     nothing of the batch done
 *   after-extract      rows read, no Parquet file yet
 *   after-parquet      Parquet file written (tmp + rename), DuckDB untouched
 *   after-drift-check  target table created/altered (backfills recorded), batch not loaded
 *   after-compact      the target compacted, when it was due (compact stage), batch not loaded
 *   after-backfill     pending backfills done, batch not loaded
 *   mid-upsert         inside the DuckDB transaction, after the DELETE, before the INSERT
 *   after-upsert       the batch applied in the run's open transaction (row group), not committed
 *   after-checkpoint   the batch's checkpoint written (after its group's commit; later batches of the group not yet)
 *   after-commit       a row group committed in DuckDB, its batches' checkpoints not yet written
 *   mid-prune          `pgduck history prune` deleted one more file (`mid-prune:3`: after the third)
 *   mid-rebuild        a target's rebuild (a compaction, a widened key) copied its rows, in its
 *                      transaction, before dropping the old table
 *
 * Pause points, enabled only by PGDUCK_PAUSE (`mid-compare:2`: the second time reached), are for
 * tests of a signal's handling at a known place: the process says so on stderr
 * (`PGDUCK_PAUSE: paused at …`) and waits there until it gets SIGTERM or SIGINT, then goes on, its
 * own handlers having run. No sleeps, no guessing how long a step takes.
 *
 *   mid-compare        verify / reconcile: the first digest pass is done, before the next key range
 *                      is narrowed into (src/verify/verify-table.ts)
 */
import { UsageError } from '../errors/usage-error.js';
export type FaultPoint =
  | 'before-extract'
  | 'after-extract'
  | 'after-parquet'
  | 'after-drift-check'
  | 'after-backfill'
  | 'mid-upsert'
  | 'after-upsert'
  | 'after-checkpoint'
  /** A row group (the batches sharing one DuckDB transaction, src/runner/row-group.ts) is committed; their checkpoints are not written yet. */
  | 'after-commit'
  /** A backfill batch is committed in DuckDB and recorded in the state store (src/stages/backfill.ts). */
  | 'after-backfill-batch'
  /** `pgduck history prune` has deleted one more history file (src/history/prune-history.ts). */
  | 'mid-prune'
  /** A target's rebuild (a compaction, a widened key: src/duckdb/target-table.ts) has copied the rows, in its transaction, before the old table is dropped. */
  | 'mid-rebuild'
  | 'after-compact';

/** The points of `pgduck run` (test/sync/crash-recovery.test.ts kills a run at each). */
export const FAULT_POINTS: FaultPoint[] = [
  'before-extract',
  'after-extract',
  'after-parquet',
  'after-drift-check',
  'after-compact',
  'after-backfill',
  'mid-upsert',
  'after-upsert',
  'after-checkpoint',
  'after-commit',
  'after-backfill-batch',
];

/**
 * Points of other commands and of rare steps, each killed by its own test (test/history/history-prune.test.ts,
 * test/sync/compaction.test.ts).
 */
export const COMMAND_FAULT_POINTS: FaultPoint[] = ['mid-prune', 'mid-rebuild'];

const KNOWN: string[] = [...FAULT_POINTS, ...COMMAND_FAULT_POINTS];

function parse(spec: string | undefined): { point: FaultPoint | null; nth: number } {
  if (!spec) return { point: null, nth: 0 };
  const [point, nth = '1'] = spec.split(':');
  if (!KNOWN.includes(point) || !/^[1-9][0-9]*$/.test(nth)) {
    throw new UsageError(`PGDUCK_FAULT=${spec}: expected <point>[:<nth>] with point one of ${KNOWN.join(', ')}`);
  }
  return { point: point as FaultPoint, nth: Number(nth) };
}

const armed = parse(process.env.PGDUCK_FAULT);
let hits = 0;

export function faultPoint(point: FaultPoint): void {
  if (point !== armed.point) return;
  hits++;
  if (hits === armed.nth) {
    process.stderr.write(`PGDUCK_FAULT: killing at ${point} (hit ${hits})\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

export type PausePoint = 'mid-compare';

const PAUSE_POINTS: PausePoint[] = ['mid-compare'];

function parsePause(spec: string | undefined): { point: PausePoint | null; nth: number } {
  if (!spec) return { point: null, nth: 0 };
  const [point, nth = '1'] = spec.split(':');
  if (!(PAUSE_POINTS as string[]).includes(point) || !/^[1-9][0-9]*$/.test(nth)) {
    throw new UsageError(`PGDUCK_PAUSE=${spec}: expected <point>[:<nth>] with point one of ${PAUSE_POINTS.join(', ')}`);
  }
  return { point: point as PausePoint, nth: Number(nth) };
}

const pause = parsePause(process.env.PGDUCK_PAUSE);
let pauseHits = 0;

/** Wait here for SIGTERM or SIGINT when PGDUCK_PAUSE names this point and hit (see above); else return at once. */
export async function pausePoint(point: PausePoint): Promise<void> {
  if (point !== pause.point) return;
  pauseHits++;
  if (pauseHits !== pause.nth) return;
  await new Promise<void>((resolve) => {
    const go = () => {
      process.off('SIGTERM', go);
      process.off('SIGINT', go);
      resolve();
    };
    process.on('SIGTERM', go);
    process.on('SIGINT', go);
    process.stderr.write(`PGDUCK_PAUSE: paused at ${point} (hit ${pauseHits}); waiting for SIGTERM or SIGINT\n`);
  });
}
