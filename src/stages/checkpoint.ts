/**
 * checkpoint: record the batch in the state store, last of all (rule 5: Parquet → DuckDB commit →
 * SQLite). Only the commit-safe position is stored: rows above the horizon were loaded (fresh) but
 * are read again next run, which the idempotent upsert makes harmless.
 *
 * An empty batch (nothing new) moves no position: it only marks the bootstrap done, once.
 * Bootstrap = the first pass reached the end of the table (rows above the horizon included: they are
 * loaded; only the checkpoint waits), else a busy table would never finish it.
 *
 * Deferred until commit: the batch's rows may wait in the run's open transaction (the row group,
 * src/runner/row-group.ts) after its upsert step; the write then happens right after that COMMIT,
 * in batch order, so the state store never records a batch DuckDB has not committed.
 */
import type { BatchState, Stage, StageContext } from './stage.js';
import { batchTransaction } from './batch-transaction.js';
import { faultPoint } from '../faults/fault-point.js';
import { targetIdentity } from '../duckdb/target-identity.js';

export const checkpointStage: Stage = {
  name: 'checkpoint',
  reads: ['phase', 'safe', 'rowCount', 'drained', 'nullCursorChunk', 'afterKey', 'backfillBytes'],
  writes: [],
  postgres: false,
  describe() {
    return {
      when: 'written once the batch is committed in DuckDB: deferred until the open transaction (row group) commits, in batch order',
      writes: 'state/checkpoints.db: commit-safe (cursor, key…) as exact text, cumulative rows, bootstrap flag (set once a pass reached the end)',
      'empty batch':
        'marks the bootstrap done (the pass reached the end); the position does not move; when its drift check ran a backfill, it takes its number (the backfill files carry it)',
      frozen: 'a batch after one that held rows above the commit-safe horizon keeps the position where it was',
      'null-cursor chunk': 'its digest (what the next sweep compares with) and, when it was written, its rows; the position does not move',
    };
  },
  async run(ctx: StageContext, batch: BatchState) {
    const { spec, store, generation } = ctx;
    // What the write needs, as it is now: the batch object is the run's, not this step's.
    const { phase, nullCursorChunk, afterKey, rowCount, safe, drained, backfillBytes, seq } = batch;
    const write = () => {
      if (phase === 'null-cursor') {
        if (nullCursorChunk) store.recordNullCursorChunk(spec.name, { digest: nullCursorChunk.digest, first: afterKey === null, rows: rowCount }, generation);
        return;
      }
      // The table these rows are in (target-identity.ts): a run that finds another one starts over (target-lost.ts).
      const target = ctx.duckdbPath === undefined ? undefined : targetIdentity(ctx.duckdbPath, spec.target);
      if (rowCount === 0) {
        if (!store.get(spec.name)?.bootstrapDone) store.markBootstrapDone(spec.name, generation, target ?? null);
        // Its drift check ran a backfill, whose files are named after this batch's number: taken, so no
        // later batch shares it (found by review: after a reset, the new pass's first batch did, and a
        // rebuild from that pass applied the older re-read, bringing back a row deleted meanwhile).
        if (backfillBytes) store.advance(spec.name, { position: null, rows: 0 }, generation);
        return;
      }
      // seq: the number the group's commit wrote into the DuckDB file (src/duckdb/target-progress.ts), recorded here after it.
      store.advance(
        spec.name,
        {
          position: safe,
          rows: rowCount,
          bootstrapDone: drained,
          on: { cursor: spec.source.cursor, key: spec.source.primaryKey },
          target,
          ...(target === undefined ? {} : { seq }),
        },
        generation,
      );
    };
    batchTransaction(ctx).afterCommit({ stage: 'checkpoint', seq: batch.seq }, () => {
      write();
      // Here, not when the step ends: the point means "this batch's checkpoint is written".
      faultPoint('after-checkpoint');
    });
  },
};
