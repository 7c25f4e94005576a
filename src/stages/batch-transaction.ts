/**
 * BatchTransaction: the DuckDB transaction a batch's rows are applied in, and what waits for its
 * commit. The runner's row-group policy (src/runner/row-group.ts) lets several batches share one
 * transaction, committed once it holds a DuckDB row group; each batch's checkpoint then waits for
 * that commit (rule 5: checkpoint last). A stage called outside the runner gets `ownTransaction`:
 * every batch commits on its own and what waits for it runs at once.
 *
 * Stages use it in three places: the upsert applies its statements through `apply`, the checkpoint
 * defers its write through `afterCommit`, and a step that must not share the open transaction (the
 * drift check's DDL: DuckDB 1.5 mis-checks keys when ALTER and DELETE + INSERT share one; a backfill,
 * which runs transactions of its own) calls `commit` first.
 */
import type { LakeSession, LakeTransaction } from '../duckdb/lake.js';
import type { StageName } from './stage.js';

/** Which step of which batch a deferred action belongs to (a failure of it is reported as that step's). */
export interface DeferredStep {
  stage: StageName;
  seq: number;
}

export interface BatchTransaction {
  /** Run fn in the open transaction (begun if none is) for this batch's rows; a throw leaves the transaction to be rolled back. */
  apply<T>(batch: { seq: number; rowCount: number }, fn: (tx: LakeTransaction) => Promise<T>): Promise<T>;
  /** Run fn once every batch applied so far is committed: at once when nothing is open, else right after the COMMIT, in order. */
  afterCommit(step: DeferredStep, fn: () => void): void;
  /** Commit what is open now, then run what waited for it. */
  commit(): Promise<void>;
}

/**
 * A failure of something that waited for a commit, or of the COMMIT itself: names the step and the
 * batch it belongs to, which may be an earlier batch than the one whose step asked for the commit.
 */
export class DeferredStepError extends Error {
  constructor(
    readonly step: DeferredStep,
    options: { cause: unknown },
  ) {
    super(`${step.stage} of batch ${step.seq}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'DeferredStepError';
  }
}

/** Each batch in a transaction of its own, committed before `apply` returns; nothing ever waits. */
export function ownTransaction(session: LakeSession): BatchTransaction {
  return {
    async apply(_batch, fn) {
      const tx = await session.openTransaction();
      try {
        const out = await fn(tx);
        await tx.commit();
        return out;
      } finally {
        await tx.rollback(); // a no-op once committed
      }
    },
    afterCommit(_step, fn) {
      fn();
    },
    async commit() {},
  };
}

/** The run's shared transaction, or (a stage called outside the runner) one per batch. */
export function batchTransaction(ctx: { lake: LakeSession; transaction?: BatchTransaction }): BatchTransaction {
  return ctx.transaction ?? ownTransaction(ctx.lake);
}
