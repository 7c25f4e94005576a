/**
 * checkpoint: record the batch in the state store, last of all (rule 5: Parquet → DuckDB commit →
 * SQLite). Only the commit-safe position is stored: rows above the horizon were loaded (fresh) but
 * are read again next run, which the idempotent upsert makes harmless.
 */
import type { BatchState, Stage, StageContext } from './stage.js';

export const checkpointStage: Stage = {
  name: 'checkpoint',
  describe() {
    return { writes: 'state/checkpoints.db: commit-safe (cursor, key…) as exact text, cumulative rows, bootstrap flag (set once a pass reached the end)' };
  },
  async run(ctx: StageContext, batch: BatchState) {
    ctx.store.advance(ctx.spec.name, {
      position: batch.safe,
      rows: batch.rowCount,
      bootstrapDone: batch.drained,
    }, ctx.generation);
  },
};
