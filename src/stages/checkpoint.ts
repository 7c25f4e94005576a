/**
 * checkpoint: record the batch in the state store, last of all (rule 5: Parquet → DuckDB commit →
 * SQLite). Only the commit-safe position is stored: rows above the horizon were loaded (fresh) but
 * are read again next run, which the idempotent upsert makes harmless.
 *
 * An empty batch (nothing new) moves no position: it only marks the bootstrap done, once.
 * Bootstrap = the first pass reached the end of the table (rows above the horizon included: they are
 * loaded; only the checkpoint waits), else a busy table would never finish it.
 */
import type { BatchState, Stage, StageContext } from './stage.js';

export const checkpointStage: Stage = {
  name: 'checkpoint',
  reads: ['phase', 'safe', 'rowCount', 'drained', 'nullCursorChunk', 'afterKey'],
  writes: [],
  postgres: false,
  describe() {
    return {
      writes: 'state/checkpoints.db: commit-safe (cursor, key…) as exact text, cumulative rows, bootstrap flag (set once a pass reached the end)',
      'empty batch': 'marks the bootstrap done (the pass reached the end); the position does not move',
      frozen: 'a batch after one that held rows above the commit-safe horizon keeps the position where it was',
      'null-cursor chunk': 'its digest (what the next sweep compares with) and, when it was written, its rows; the position does not move',
    };
  },
  async run(ctx: StageContext, batch: BatchState) {
    const { spec, store, generation } = ctx;
    if (batch.phase === 'null-cursor') {
      if (batch.nullCursorChunk)
        store.recordNullCursorChunk(spec.name, { digest: batch.nullCursorChunk.digest, first: batch.afterKey === null, rows: batch.rowCount }, generation);
      return;
    }
    if (batch.rowCount === 0) {
      if (!store.get(spec.name)?.bootstrapDone) store.markBootstrapDone(spec.name, generation);
      return;
    }
    store.advance(spec.name, { position: batch.safe, rows: batch.rowCount, bootstrapDone: batch.drained }, generation);
  },
};
