/**
 * What a history file says about itself, in its Parquet key-value metadata (key `pgduck`, JSON):
 * the Postgres description of each of its columns, so a replay maps every column exactly as the
 * runner did (mapColumn) without asking Postgres, and where the batch started and whether it reached
 * the end of the table, so a replay knows where the last complete pass over the table began. Any Parquet reader shows it
 * (DuckDB: `SELECT decode(value) FROM parquet_kv_metadata('…') WHERE decode(key) = 'pgduck'`).
 */
import type { PgColumn } from '../schema/column.js';
import type { Position } from '../state/checkpoint-store.js';

export const HISTORY_METADATA_KEY = 'pgduck';
export const HISTORY_METADATA_FORMAT = 1;

export interface HistoryMetadata {
  format: number;
  pipeline: string;
  kind: 'batch' | 'backfill';
  seq: number;
  /** `batch`: the position it was read after; null: the first batch of a pass from the beginning (bootstrap, after a reset). */
  from?: Position | null;
  /** `batch`: it came back short, so the pass it belongs to reached the end of the table. */
  drained?: boolean;
  /** `batch`: the pass it belongs to had already reached the end of the table when it was read (the checkpoint said so). */
  passDone?: boolean;
  /** `batch`: rows whose cursor is NULL, read by key after the pass had ended (src/stages/null-cursor-sweep.ts); no `from`, no `drained`. */
  nullCursor?: boolean;
  /** `batch`: rows `verify --repair` read again by key (src/repair/repair-rows.ts); no `from`, no `drained`. */
  repair?: boolean;
  /** `backfill`: which one, and why. */
  backfill?: { id: number; reason: string };
  /** source table, primary key and cursor as the pipeline named them */
  source: { table: string; primaryKey: string[]; cursor: string };
  /** One per Parquet column, in Parquet order: the catalog description the column was read with. */
  columns: PgColumn[];
}

export function encodeHistoryMetadata(meta: Omit<HistoryMetadata, 'format'>): Record<string, string> {
  return { [HISTORY_METADATA_KEY]: JSON.stringify({ format: HISTORY_METADATA_FORMAT, ...meta }) };
}
