/**
 * Row-group transactions: the batches of a run are applied in one shared DuckDB transaction, which
 * commits once it holds at least GROUP_ROWS rows; only then are their checkpoints written, in batch
 * order (rule 5: Parquet file → DuckDB commit → checkpoint). Each batch's Parquet file is still written
 * and fsynced before its rows enter the transaction.
 *
 * Why: below one DuckDB row group every COMMIT writes the WAL and checkpoints the file. Measured on
 * 1M rows, the DuckDB side alone took 2.7–5.0 s at 10k rows per transaction and 1.6–2.8 s at
 * 130k–250k (docs/architecture.md#facts-duckdb). A larger batch_size alone does not get there: it
 * holds more rows in memory, and is capped below a useful size.
 *
 * The group also commits before anything that must not share it: the drift check's DDL and a
 * backfill (they call BatchTransaction.commit), the end of a DuckDB session (rotation), a stop
 * request and the end of the run (the runner). An incremental run with few rows has one batch, and
 * so commits as it did. A crash rolls the open group back: the checkpoint is that of the last
 * committed group, and the next run re-reads the batches after it (rule 4 makes that harmless).
 * After a failure the runner calls settle(): a step that failed inside the transaction (the upsert's
 * statements, the COMMIT) leaves nothing to keep, so everything is rolled back; one that failed
 * outside it (a read, a Parquet file, a refused drift) leaves the applied batches whole, and they are
 * committed and checkpointed before the failure is reported.
 */
import type { LakeSession, LakeTransaction } from '../duckdb/lake.js';
import { DeferredStepError, type BatchTransaction, type DeferredStep } from '../stages/batch-transaction.js';
import { PgduckError } from '../errors/pgduck-error.js';
import { faultPoint } from '../faults/fault-point.js';
import { createProgressTableSql, writeProgress } from '../duckdb/target-progress.js';
import { DUCKDB_ROW_GROUP_ROWS, type TargetName } from '../duckdb/target-table.js';

/**
 * DuckDB's row group size (1.5): a transaction that holds at least this many rows writes them as
 * whole row groups at COMMIT instead of through the WAL. With batch_size 10,000 a group is 13
 * batches; with 100,000, two; with 200,000 (the cap), one.
 */
export const GROUP_ROWS = DUCKDB_ROW_GROUP_ROWS;

export class RowGroup implements BatchTransaction {
  private tx: LakeTransaction | null = null;
  private rows = 0;
  /** The last batch applied in the open transaction (a failed COMMIT is reported as its upsert's). */
  private lastSeq = 0;
  /** A statement failed inside the open transaction: DuckDB has aborted it, only a rollback is left. */
  private broken = false;
  private waiting: { step: DeferredStep; fn: () => void }[] = [];

  constructor(
    private readonly session: LakeSession,
    private readonly limit: number = GROUP_ROWS,
    /** The target whose progress each commit records in the file (src/duckdb/target-progress.ts): the last batch's number. */
    private readonly progress: TargetName | null = null,
  ) {}

  async apply<T>(batch: { seq: number; rowCount: number }, fn: (tx: LakeTransaction) => Promise<T>): Promise<T> {
    if (this.broken) throw new PgduckError('the shared DuckDB transaction was aborted by an earlier failure', { kind: 'internal', code: 'INTERNAL' });
    // The table the commit records progress in, made before the transaction opens (else it never sees it).
    if (!this.tx && this.progress) await this.session.runOnce(createProgressTableSql(this.session.catalog));
    this.tx ??= await this.session.openTransaction();
    let out: T;
    try {
      out = await fn(this.tx);
    } catch (err) {
      this.broken = true;
      throw err;
    }
    this.rows += batch.rowCount;
    this.lastSeq = batch.seq;
    return out;
  }

  afterCommit(step: DeferredStep, fn: () => void): void {
    if (this.tx) this.waiting.push({ step, fn });
    else fn();
  }

  /** The open transaction holds a row group: commit it before the next batch. */
  get full(): boolean {
    return this.rows >= this.limit;
  }

  /**
   * COMMIT, then what waited for it, in order. A failed COMMIT rolls the group back (DeferredStepError
   * naming the last batch's upsert); a failed deferred step stops the ones after it (DeferredStepError
   * naming it): the state store then stays behind DuckDB, never ahead.
   */
  async commit(): Promise<void> {
    const tx = this.tx;
    if (tx) {
      const step: DeferredStep = { stage: 'upsert', seq: this.lastSeq };
      this.tx = null;
      this.rows = 0;
      if (this.broken) {
        this.broken = false;
        this.waiting = [];
        await tx.rollback();
        throw new DeferredStepError(step, {
          cause: new PgduckError('the shared DuckDB transaction was aborted by an earlier failure', { kind: 'internal', code: 'INTERNAL' }),
        });
      }
      try {
        if (this.progress) await writeProgress(tx, this.progress, this.lastSeq);
        await tx.commit();
      } catch (cause) {
        if (this.progress) await tx.rollback();
        this.waiting = [];
        throw new DeferredStepError(step, { cause });
      }
      faultPoint('after-commit');
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      try {
        w.fn();
      } catch (cause) {
        throw new DeferredStepError(w.step, { cause });
      }
    }
  }

  /** Roll back what is open; what waited for it is dropped (it was never committed). */
  async rollback(): Promise<void> {
    const tx = this.tx;
    this.tx = null;
    this.rows = 0;
    this.broken = false;
    this.waiting = [];
    await tx?.rollback();
  }

  /**
   * After a failure, before it is reported: keep the applied batches when the transaction is whole
   * (commit them and write their checkpoints), else roll back. Never throws: the failure being
   * reported is the one that matters, and one here leaves the state store behind DuckDB at worst.
   */
  async settle(): Promise<void> {
    if (this.broken) return this.rollback();
    try {
      await this.commit();
    } catch {
      await this.rollback();
    }
  }
}
