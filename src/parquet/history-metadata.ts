/**
 * What a history file says about itself, in its Parquet key-value metadata (key `pgduck`, JSON):
 * the Postgres description of each of its columns, so a replay maps every column exactly as the
 * runner did (mapColumn) without asking Postgres, and where the batch started and whether it reached
 * the end of the table, so a replay knows where the last complete pass over the table began. Any Parquet reader shows it
 * (DuckDB: `SELECT decode(value) FROM parquet_kv_metadata('…') WHERE decode(key) = 'pgduck'`).
 *
 * Formats: 1, every column as the text the type map reads (or int/float/bool), cast when loaded;
 * 2 adds `transport` and `textColumns`: a `typed` file (the CSV data path) holds each column in its
 * DuckDB type but the `textColumns` (src/schema/typed-parquet.ts); 3 is the `deletes` kind (keys gone
 * from the source, src/repair/repair-rows.ts), which only a version that knows how to apply it may
 * replay: batch and backfill files are still written as format 2, so an older pgduck reads them.
 * Readers take all three.
 */
import type { PgColumn } from '../schema/column.js';
import type { Position } from '../state/checkpoint-store.js';
import type { ParquetTransport } from '../schema/typed-parquet.js';
import type { HistoryKind } from './history-files.js';

export const HISTORY_METADATA_KEY = 'pgduck';
/** What this version writes for a batch or backfill file. */
export const HISTORY_METADATA_FORMAT = 2;
/** What this version writes for a deletes file (the format that added the kind). */
export const HISTORY_METADATA_FORMAT_DELETES = 3;
/** What this version reads. */
export const HISTORY_METADATA_FORMATS_READ: readonly number[] = [1, 2, 3];

export interface HistoryMetadata {
  format: number;
  pipeline: string;
  kind: HistoryKind;
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
  /**
   * `deletes` (format 3): the keys (and the cursor each row had in the table) found gone from the
   * source, in the DuckDB table's own types but the `textColumns` (INTERVAL, TIMETZ: DuckDB's text of
   * the value, cast back when read). `remove`: the rows were deleted; `mark`: their
   * `_pgduck_deleted_at` was set to `at` where it was NULL. `rows` (mark files written since): the file
   * holds the whole rows (every synced column), so a rebuild can insert, marked, a row it lacks.
   */
  deletes?: { mode: 'remove' | 'mark'; at: string; rows?: boolean };
  /**
   * `backfill`: which one, and why. `insertsMissing`: the file carries every column and its rows whose
   * key the target lacked were inserted too (a rewrite backfill, src/stages/backfill.ts); a replay that
   * rebuilds the table does the same.
   */
  backfill?: { id: number; reason: string; insertsMissing?: boolean };
  /** source table, primary key and cursor as the pipeline named them */
  source: { table: string; primaryKey: string[]; cursor: string };
  /** One per Parquet column, in Parquet order: the catalog description the column was read with. */
  columns: PgColumn[];
  /** Format 2: how the columns are carried; absent (format 1): `text`. */
  transport?: ParquetTransport['transport'];
  /** Format 2, `typed`: the columns kept as text. */
  textColumns?: string[];
}

/** How a file of this metadata carries its columns (format 1: text). */
export function fileTransport(meta: Pick<HistoryMetadata, 'transport' | 'textColumns'>): ParquetTransport {
  return meta.transport === 'typed' ? { transport: 'typed', textColumns: meta.textColumns ?? [] } : { transport: 'text', textColumns: [] };
}

/** `transport` left out: a text file (the Arrow path, backfill and repair files). */
export function encodeHistoryMetadata(
  meta: Omit<HistoryMetadata, 'format' | 'transport' | 'textColumns'>,
  transport: ParquetTransport = { transport: 'text', textColumns: [] },
): Record<string, string> {
  const how = transport.transport === 'typed' ? { transport: 'typed', textColumns: transport.textColumns } : { transport: 'text' };
  const format = meta.kind === 'deletes' ? HISTORY_METADATA_FORMAT_DELETES : HISTORY_METADATA_FORMAT;
  return { [HISTORY_METADATA_KEY]: JSON.stringify({ format, ...meta, ...how }) };
}
