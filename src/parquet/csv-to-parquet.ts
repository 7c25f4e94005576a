/**
 * A batch's CSV (the CSV data path, src/stages/csv-extract.ts) → its Parquet history file, written by
 * DuckDB: `read_csv` with every column VARCHAR (nothing guessed: no auto-detection, `""` stays an
 * empty string, only an unquoted empty field is NULL), then one SELECT casting each column with
 * pgduck's own expression (typed-parquet.ts over type-map.ts), `COPY … TO '<file>.tmp'`, fsync,
 * rename: a reader or a crash never sees half a file. The CSV is removed on every path.
 *
 * Exact or text: when a value has no typed form (numeric NaN in a DECIMAL column, a timestamp past
 * DuckDB's range) the typed SELECT fails, and the file is written again as text (every column the
 * Postgres text it arrived as). The upsert then casts it and fails naming the column and the value,
 * as it does for a file of the row-array path: the history keeps the batch either way.
 *
 * The upsert then reads the file back (`read_parquet`) in the run's open transaction: the file is the
 * only way a batch reaches that transaction. Staging the typed rows in a DuckDB table instead (for
 * both the file and the INSERT) is invisible to a transaction that began before the table existed, or
 * reads its old version (test/runner/row-group-visibility.test.ts), and where it can be made visible
 * it costs more CPU than it saves: one streaming COPY here is cheaper than building the table and
 * writing it out (docs/architecture.md#facts-duckdb, `scripts/bench-duck-batch.ts`).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { fsyncAndRename } from './durable-file.js';
import { basename, dirname } from 'node:path';
import type { LakeSession } from '../duckdb/lake.js';
import type { ColumnMapping } from '../schema/column.js';
import { keepsText, typedCastExpr, type ParquetTransport } from '../schema/typed-parquet.js';
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';

/**
 * DuckDB's longest CSV line, and its read buffer: a line is never longer than its file, so the file's
 * size (at least DuckDB's default 2 MiB, at most 1 GiB, a Postgres value's limit). Measured: a fixed
 * 1 GiB line limit makes DuckDB allocate 16 GiB (its buffer defaults to 16 lines), failing every batch.
 */
export function csvLineLimit(fileBytes: number): number {
  return Math.min(Math.max(fileBytes + 1, 2 << 20), 1 << 30);
}

/**
 * The first line of every batch CSV, skipped by `read_csv` (`skip = 1`): DuckDB drops a UTF-8 byte-order
 * mark at the very start of a file, whatever its options (measured on 1.5.6), and Postgres does not quote
 * a value for starting with U+FEFF. Without this line a first field beginning with one lost it: a text
 * key `\uFEFFa` became `a`, replacing that key's row (found by review: two source rows collapsed into
 * one, the run reporting success). Written by whatever writes the file (csv-extract.ts, bootstrap-stream.ts).
 */
export const CSV_PREFIX = 'pgduck batch\n';

/** The CSV's own column names: c1…cN for the batch's columns, p1…pK for the trailing position columns (never a user's name). */
const csvName = (i: number) => `c${i + 1}`;

/**
 * `read_csv` of a batch CSV: every field VARCHAR, nothing detected. `new_line` too: COPY ends every
 * record with `\n`, and DuckDB (1.5.6) detecting it from a first record whose quoted field holds a CR
 * took `\r` for the newline and refused the file ("unterminated quote", measured). The first line is
 * CSV_PREFIX, skipped.
 */
export function readCsvSql(csvPath: string, columnCount: number, trailing: number, fileBytes: number): string {
  const names = [...Array.from({ length: columnCount }, (_, i) => csvName(i)), ...Array.from({ length: trailing }, (_, i) => `p${i + 1}`)];
  const struct = `{${names.map((n) => `${quoteLiteral(n)}: 'VARCHAR'`).join(', ')}}`;
  return (
    `read_csv(${quoteLiteral(csvPath)}, columns = ${struct}, header = false, skip = 1, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `allow_quoted_nulls = false, nullstr = '', strict_mode = true, new_line = '\\n', max_line_size = ${csvLineLimit(fileBytes)}, buffer_size = ${csvLineLimit(fileBytes)})`
  );
}

/** The COPY writing the Parquet file; `typed`: each column cast (typedCastExpr), else the CSV text as it is. */
export function buildCsvToParquetSql(
  csv: { path: string; trailing: number; bytes: number },
  tmpPath: string,
  columns: Pick<ColumnMapping, 'name' | 'duckType' | 'loadExpr'>[],
  transport: ParquetTransport['transport'],
  metadata: Record<string, string>,
): string {
  const select = columns.map((c, i) => {
    const ref = quoteIdent(csvName(i));
    return `${transport === 'typed' ? typedCastExpr(c, ref) : ref} AS ${quoteIdent(c.name)}`;
  });
  const kv = Object.entries(metadata)
    .map(([k, v]) => `${quoteIdent(k)}: ${quoteLiteral(v)}`)
    .join(', ');
  return (
    `COPY (SELECT ${select.join(', ')}\nFROM ${readCsvSql(csv.path, columns.length, csv.trailing, csv.bytes)})\n` +
    `TO ${quoteLiteral(tmpPath)} (FORMAT parquet, COMPRESSION zstd${kv ? `, KV_METADATA {${kv}}` : ''})`
  );
}

/** The transport of a typed file of these columns. */
export function typedTransport(columns: Pick<ColumnMapping, 'name' | 'duckType'>[]): ParquetTransport {
  return { transport: 'typed', textColumns: columns.filter(keepsText).map((c) => c.name) };
}

/**
 * Write `path` from the CSV; returns its size and how it carries its columns. `metadata(t)` is the
 * file's key-value metadata for transport t. The CSV is removed whatever happens.
 */
export async function writeParquetFromCsv(
  session: LakeSession,
  csv: { path: string; trailing: number; bytes: number },
  path: string,
  columns: Pick<ColumnMapping, 'name' | 'duckType' | 'loadExpr'>[],
  metadata: (transport: ParquetTransport) => Record<string, string>,
): Promise<{ bytes: number; transport: ParquetTransport }> {
  const tmp = `${path}.tmp`;
  // The history folder: the batch's CSV is written elsewhere (history-files.ts csvTempPath).
  mkdirSync(dirname(path), { recursive: true });
  try {
    let transport = typedTransport(columns);
    try {
      await session.run(buildCsvToParquetSql(csv, tmp, columns, 'typed', metadata(transport)));
    } catch {
      // A value without a typed form: keep the batch as text; the upsert's cast names the column and the value.
      transport = { transport: 'text', textColumns: [] };
      await session.run(buildCsvToParquetSql(csv, tmp, columns, 'text', metadata(transport)));
    }
    fsyncAndRename(tmp, path);
    return { bytes: statSync(path).size, transport };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write Parquet file ${path}: ${(err as Error).message.split('\n')[0]} (nothing kept: ${basename(tmp)} removed)`, {
      cause: err,
    });
  } finally {
    rmSync(csv.path, { force: true });
  }
}
