/**
 * The contract every stage implements. A run of a plan is a loop of batches; each batch passes
 * through the stages in plan order, sharing one BatchState.
 *
 * - `describe()` needs no I/O: `plan` and `validate` print it.
 * - `run()` must be safe to repeat after a crash at any point (at-least-once delivery: the upsert
 *   tolerates a batch applied twice, and the checkpoint is written last).
 * - A stage throws to fail the batch; the runner wraps the error in a StageError naming the
 *   pipeline, stage and batch, and the checkpoint does not move.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import type { WireRow } from '../parquet/arrow-table.js';
import type { PgClient } from '../postgres/connect.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { CheckpointStore, Position } from '../state/checkpoint-store.js';
import type { Logger } from '../log/logger.js';

export type StageName = 'extract' | 'parquet' | 'drift-check' | 'upsert' | 'checkpoint';

export interface StageContext {
  spec: PipelineSpec;
  pg: PgClient;
  lake: LakeSession;
  store: CheckpointStore;
  parquetDir: string;
  log: Logger;
  /** The checkpoint generation this run started from: the checkpoint is written only while it is current (see `reset`). */
  generation: number;
}

/** What one batch carries from stage to stage. */
export interface BatchState {
  /** Sequence number of this batch in the pipeline's history (names the Parquet file). */
  seq: number;
  /** Where this batch starts (exclusive); null = from the beginning (bootstrap). */
  from: Position | null;
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
  /** Position of the last row read: the next batch of this cycle starts after it. */
  last: Position | null;
  /** Last position at or below the commit-safe horizon: what the checkpoint may advance to. */
  safe: Position | null;
  /** True when every row read was at or below the horizon. */
  allSafe: boolean;
  /** The source is drained when a batch comes back short. */
  drained: boolean;
  parquetPath?: string;
  parquetBytes?: number;
  /** Rows written to DuckDB after de-duplication by key. */
  upserted?: number;
}

export interface Stage {
  readonly name: StageName;
  /** Pure description for `plan`: what this stage will do, including the SQL it runs. */
  describe(): Record<string, unknown>;
  run(ctx: StageContext, batch: BatchState): Promise<void>;
}
