/**
 * Read-ahead: the next batch is read from Postgres while the current one is applied to DuckDB.
 *
 * A run has one Postgres session, so the read may start only once every remaining step of the
 * current batch leaves Postgres alone (Stage.postgres false: upsert and checkpoint work in DuckDB's
 * threads and SQLite). Reading early is safe: it is what a slower DuckDB would have made a
 * sequential run do, and nothing of the next batch is kept until its own steps run. A failed read
 * surfaces once the current batch is checkpointed, so the batch before it is not lost.
 */
import type { Stage } from '../stages/stage.js';

export interface ReadAhead {
  /** Index of the step (of the steps after the read) before which the next read starts; `steps.length`: after the last one (no overlap). */
  readonly startsBefore: number;
}

export function readAhead(steps: readonly Pick<Stage, 'postgres'>[]): ReadAhead {
  let i = steps.length;
  while (i > 0 && !steps[i - 1].postgres) i--;
  return { startsBefore: i };
}
