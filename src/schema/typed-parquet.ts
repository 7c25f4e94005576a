/**
 * Which columns a typed history file (the CSV data path: src/postgres/copy-to-file.ts, then DuckDB's
 * `read_csv` into Parquet, src/parquet/csv-to-parquet.ts) carries in their DuckDB type, and which stay
 * the exact Postgres text they arrive as.
 *
 * A column is typed when its DuckDB type goes through Parquet and back unchanged. Two do not
 * (measured on DuckDB 1.5.6): Parquet's INTERVAL holds milliseconds, so `INTERVAL 1 MICROSECOND`
 * comes back as 0; Parquet has no time-with-offset, so `TIMETZ '12:00:00+05:30'` comes back as
 * `06:30:00+00`. Those columns (and lists of them) stay text in the file and are cast when loaded,
 * by the same loadExpr as a text-transport file (type-map.ts).
 *
 * Pure: `cast` is what DuckDB selects from the CSV's VARCHAR column to write the file, `load` what
 * upsert and replay read from the file.
 */
import type { ColumnMapping } from './column.js';

/** DuckDB types Parquet cannot hold exactly (see above); a list of one of them neither. */
const INEXACT_IN_PARQUET = new Set(['INTERVAL', 'TIMETZ']);

/** The column stays text in a typed history file. */
export function keepsText(m: Pick<ColumnMapping, 'duckType'>): boolean {
  return INEXACT_IN_PARQUET.has(m.duckType.replace(/\[\]$/, ''));
}

/** The DuckDB expression writing the column into a typed file, from its VARCHAR column `ref` of the CSV. */
export function typedCastExpr(m: Pick<ColumnMapping, 'duckType' | 'loadExpr'>, ref: string): string {
  return keepsText(m) ? ref : m.loadExpr(ref);
}

/** How a history file carries its columns (history metadata format 2; format 1 files are all `text`). */
export interface ParquetTransport {
  /** `typed`: every column in its DuckDB type but `textColumns`; `text`: every column as the Postgres text the type map reads (or int/float/bool). */
  transport: 'typed' | 'text';
  /** `typed`: the columns kept as text (keepsText), by name. */
  textColumns: string[];
}

/** The column's mapping for reading it from a file of this transport: a typed column is read as it is. */
export function mappingForFile<M extends Pick<ColumnMapping, 'name' | 'loadExpr'>>(m: M, file: ParquetTransport | null | undefined): M {
  if (!file || file.transport === 'text' || file.textColumns.includes(m.name)) return m;
  return { ...m, loadExpr: (c: string) => c };
}
