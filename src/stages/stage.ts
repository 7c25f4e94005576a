/**
 * The contract every stage implements. A run executes its plan's steps (src/runner/compile.ts) in
 * order for each batch, every step on every batch; the steps share one BatchState. The stages come
 * from one registry (registry.ts); each describes itself for `plan` and runs for the runner.
 *
 * What the runner guarantees a stage:
 * - The steps of one batch run one after the other, in plan order, never two at once. The plan's
 *   first step (extract) produces the batch: it runs without a DuckDB session (ReadContext), and the
 *   next batch's extract may run while this batch's trailing steps run, but only while none of those
 *   touches Postgres (`postgres: false`; src/runner/read-ahead.ts). Every other step runs inside a
 *   DuckDB session, which the runner may end and reopen between two batches (session rotation).
 * - Rows are applied in the run's shared transaction (`StageContext.transaction`, the row-group
 *   policy: src/runner/row-group.ts), which several batches share: a batch's rows are committed when
 *   the group is, not when its upsert step ends. Whatever must follow the commit (the checkpoint)
 *   waits for it with `afterCommit`; a step that must not share the transaction (DDL, a transaction of
 *   its own) commits it first. The runner commits the group before the session ends and at the end
 *   of the run, and rolls it back when a step inside it failed.
 * - A stage reads only the BatchState fields it lists in `reads` (written by an earlier step) and
 *   writes only those it lists in `writes`. An empty batch (rowCount 0: nothing new) goes through
 *   every step too; a stage with nothing to do for it returns at once.
 *
 * What a stage guarantees the runner:
 * - `describe()` does no I/O and returns the step as the plan prints it, including the SQL it runs
 *   and (`when`) the condition under which it acts, if it does not act on every batch.
 * - `run()` is safe to repeat after a crash at any point: delivery is at-least-once (the upsert
 *   tolerates a batch applied twice, the checkpoint is written last, a backfill resumes from its
 *   recorded key), and a batch re-read after a crash overwrites its own Parquet file.
 * - A stage throws to fail the batch. The runner then stops this pipeline (no later step of the batch
 *   runs, no later batch is read), wraps the error in a StageError naming the pipeline, the step and
 *   the batch, and the checkpoint is not advanced past the last batch whose checkpoint was written
 *   (its step finished, and the transaction it waited for committed); the next run re-reads from
 *   there. A failure inside the shared transaction rolls back every batch applied in it; one outside
 *   it (a read, a Parquet file, a refused drift) first commits the batches applied before it. Other
 *   pipelines are not affected.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import type { WireRow } from '../parquet/arrow-table.js';
import type { PgClient } from '../postgres/connect.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { CheckpointStore, Position } from '../state/checkpoint-store.js';
import type { Logger } from '../log/logger.js';
import type { DescribeInputs, PlanStep } from './plan-step.js';
import type { RunMemory } from './run-memory.js';
import type { ParquetTransport } from '../schema/typed-parquet.js';
import type { BatchTransaction } from './batch-transaction.js';
import type { CopyStream, CopyStreamOptions } from '../postgres/copy-stream.js';
import type { ExportedSnapshot } from '../postgres/export-snapshot.js';

export type StageName = 'extract' | 'parquet' | 'drift-check' | 'compact' | 'backfill' | 'upsert' | 'checkpoint';

/** What every step of a run may use, made once per run. */
export interface ReadContext {
  spec: PipelineSpec;
  /** The run's one Postgres session; only stages with `postgres: true` use it. */
  pg: PgClient;
  store: CheckpointStore;
  parquetDir: string;
  log: Logger;
  /** The checkpoint generation this run started from: the checkpoint is written only while it is current (see `reset`). */
  generation: number;
  /** What stages keep between the batches of this run (never shared between runs). */
  memory: RunMemory;
  /** Where a long pass (a bootstrap, a backfill) reports its rows, for progress bars; absent when nobody watches. */
  progress?: ProgressSink;
  /** The DuckDB file of the target, as the run resolved it (the target check, target-check.ts); absent: no target check is kept. */
  duckdbPath?: string;
  /**
   * Open `COPY (query) TO STDOUT (FORMAT csv)` on a Postgres connection of its own (the bootstrap
   * stream, bootstrap-stream.ts), with the session settings of `pg`. Absent: no bootstrap stream.
   */
  openCopy?: (query: string, opts?: CopyStreamOptions) => Promise<CopyStream>;
  /**
   * Export a snapshot on a Postgres connection of its own (the parallel bootstrap,
   * parallel-bootstrap.ts; export-snapshot.ts). Absent: the bootstrap stream is never parallel.
   */
  exportSnapshot?: () => Promise<ExportedSnapshot>;
  /** The fewest deleted row slots a target is compacted for (compact.ts); absent: a row group's worth (DUCKDB_ROW_GROUP_ROWS). */
  compactMinDeleted?: number;
}

/**
 * Progress of long passes over a table, by label (the pipeline, or `<pipeline> backfill #<id>`):
 * src/log/terminal-progress.ts draws them. Only a display: nothing a run does depends on it.
 */
export interface ProgressSink {
  /** A pass starts, `done` rows already behind it (a resumed one); `estimate`: pg_class.reltuples, or null. */
  begin(label: string, p: { done: number; estimate: number | null }): void;
  advance(label: string, rows: number): void;
  end(label: string): void;
}

/** A step inside a DuckDB session: every step but the plan's first (the read). */
export interface StageContext extends ReadContext {
  lake: LakeSession;
  /**
   * The transaction batches are applied in (batch-transaction.ts): the runner's row group, which
   * several batches share. Absent (a stage called outside the runner): each batch commits on its own.
   */
  transaction?: BatchTransaction;
}

/** What one batch carries from stage to stage. */
export interface BatchState {
  /** Sequence number of this batch in the pipeline's history (names the Parquet file). */
  seq: number;
  /**
   * Which rows this batch reads: `cursor`, the keyset pass in (cursor, key…) order; `null-cursor`,
   * rows whose cursor is NULL, by key, after the keyset pass drained (null-cursor-sweep.ts). A
   * null-cursor batch never moves the checkpoint.
   */
  phase: 'cursor' | 'null-cursor';
  /** Where this batch starts (exclusive); null = from the beginning (bootstrap). A null-cursor batch keeps the run's position here. */
  from: Position | null;
  /** `null-cursor`: the key this chunk starts after (exclusive); null = the first chunk. */
  afterKey: string[] | null;
  /** Set by extract: the source's cursor column admits NULL (a null-cursor sweep follows the keyset pass). */
  cursorNullable: boolean;
  /** `null-cursor`: what the checkpoint stage records of the chunk (its rows are 0 when the last sweep wrote the same ones). */
  nullCursorChunk?: { digest: string; lastKey: string[] | null };
  /** Source columns as the catalog described them just before the extract. */
  sourceColumns: PgColumn[];
  /** Columns carried in this batch, in Parquet order. */
  columns: ColumnMapping[];
  /** The rows read, as wire text; emptied once the Parquet file holds them (the upsert reads the file). */
  rows: WireRow[];
  /** How many rows were read (rows.length before it was emptied). */
  rowCount: number;
  /** Columns that go into the target (set by drift-check: under `freeze`, new source columns are left out). */
  loadColumns: ColumnMapping[];
  /** Names of the target's columns once drift-check has altered it (what a backfill may fill). */
  targetColumns: string[];
  /** Position of the last row read: the next batch of this cycle starts after it. */
  last: Position | null;
  /** Last position at or below the commit-safe horizon: what the checkpoint may advance to. */
  safe: Position | null;
  /** True when every row read was at or below the horizon. */
  allSafe: boolean;
  /** The source is drained when a batch comes back short (an empty batch is drained). */
  drained: boolean;
  /** Set by extract on the CSV data path (csv-extract.ts): the batch's rows are in this CSV, not in `rows`, followed by `trailing` position columns. */
  csv?: { path: string; trailing: number; bytes: number };
  /**
   * Set by extract on a batch cut from the bootstrap stream (bootstrap-stream.ts); `first`: the
   * stream's first batch (the upsert looks at the target once, there).
   */
  stream?: { first: boolean };
  /**
   * Set by upsert: none of this batch's keys is in the target, so its DELETE is skipped. True only for
   * a batch of the bootstrap stream whose first batch found the target empty: a stream is one COPY,
   * one snapshot, so no key appears in two of its batches; nothing else writes the target while this
   * run holds it (one writer per DuckDB table, the runner's lock), and the stream's batches are the
   * run's first. Were it ever wrong, the target's PRIMARY KEY refuses the duplicate loudly (with
   * `target.key_index: false` there is none: `pgduck verify` reports the duplicate).
   */
  keysAbsent?: boolean;
  /**
   * Set by the runner's parquet-ahead policy (src/runner/run-pipeline.ts): this batch's parquet step
   * already ran, right after its read ahead, while the batch before it was applied; `error` is what it
   * threw, thrown again by the parquet step in its place so the failure is the parquet step's.
   */
  parquetAhead?: { error?: unknown };
  parquetPath?: string;
  parquetBytes?: number;
  /**
   * Bytes of the Parquet files the backfill stage wrote for this batch (history under
   * parquet/<pipeline>/backfill/). A batch with no rows of its own may still carry them: a drift
   * that only added a column with a DEFAULT re-reads every existing row.
   */
  backfillBytes?: number;
  /** How the batch's Parquet file carries its columns (typed, or the text the type map reads); upsert reads it so. */
  parquetTransport?: ParquetTransport;
  /** Rows written to DuckDB after de-duplication by key. */
  upserted?: number;
  /**
   * Set by extract on a batch with no rows that ends its run: the target check (target-check.ts)
   * found the source and the pipeline's settings as the last drift check left them, and no backfill
   * pending. The runner then runs the batch's steps without opening the DuckDB file.
   */
  targetUnchanged?: boolean;
}

/** Every Parquet byte one batch wrote: its own file and its backfills' files. */
export function batchBytes(batch: Pick<BatchState, 'parquetBytes' | 'backfillBytes'>): number {
  return (batch.parquetBytes ?? 0) + (batch.backfillBytes ?? 0);
}

/** Where a batch starts reading: the keyset pass after a position, or the null-cursor sweep after a key. */
export type BatchStart = { phase: 'cursor'; from: Position | null } | { phase: 'null-cursor'; from: Position | null; afterKey: string[] | null };

/** A batch before its read: the extract stage fills it. */
export function newBatch(seq: number, start: BatchStart): BatchState {
  return {
    seq,
    phase: start.phase,
    from: start.from,
    afterKey: start.phase === 'null-cursor' ? start.afterKey : null,
    cursorNullable: false,
    sourceColumns: [],
    columns: [],
    rows: [],
    rowCount: 0,
    loadColumns: [],
    targetColumns: [],
    last: null,
    safe: null,
    allSafe: true,
    drained: false,
  };
}

/**
 * What the run reads after this batch, or null when the run is done: the keyset pass goes on until
 * a batch comes back short; then, when the cursor column admits NULL, the null-cursor sweep runs to
 * its own end. A batch that wrote no file takes no batch number (history files are numbered by batch).
 */
export function nextStart(batch: BatchState): { seq: number; start: BatchStart } | null {
  const seq = batch.rowCount > 0 ? batch.seq + 1 : batch.seq;
  if (batch.phase === 'cursor') {
    if (!batch.drained) return { seq, start: { phase: 'cursor', from: batch.last } };
    return batch.cursorNullable ? { seq, start: { phase: 'null-cursor', from: batch.last, afterKey: null } } : null;
  }
  if (batch.drained) return null;
  return { seq, start: { phase: 'null-cursor', from: batch.from, afterKey: batch.nullCursorChunk?.lastKey ?? batch.afterKey } };
}

export interface Stage<Context extends ReadContext = StageContext> {
  readonly name: StageName;
  /** BatchState fields this stage reads: an earlier step of the plan writes each of them. */
  readonly reads: readonly (keyof BatchState)[];
  /** BatchState fields this stage sets. */
  readonly writes: readonly (keyof BatchState)[];
  /** May query Postgres. While a step that does runs, the next batch is not read (one Postgres session per run). */
  readonly postgres: boolean;
  /** Pure: this stage as the plan shows it (what it does, its SQL, when it acts). */
  describe(spec: PipelineSpec, inputs: DescribeInputs): Omit<PlanStep, 'stage'>;
  run(ctx: Context, batch: BatchState): Promise<void>;
}
