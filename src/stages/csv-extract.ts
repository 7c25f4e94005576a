/**
 * The CSV data path of a keyset batch (issue 11): the batch's query runs as
 *
 *   COPY (SELECT <columns>, <position as hex>…, <horizon test> FROM t WHERE (cursor, pk…) > (…) ORDER BY … LIMIT n) TO STDOUT (FORMAT csv)
 *
 * streamed into `<seq>.csv.tmp` (history-files.ts) without JavaScript parsing a value; DuckDB then
 * casts it into the batch's Parquet file (src/parquet/csv-to-parquet.ts). The batch's position rides
 * along as the last CSV columns, each the hex of its Postgres text (`col::text`, what `$n::type` reads
 * back exactly): hex has no comma, quote or newline, so the last record's trailing fields are read
 * from the end of the file without parsing the rest. Only that record is read.
 *
 * Where the CSV path cannot say exactly what the row-array path says, extract keeps that path
 * (csvPathFits): the null-cursor sweep and a nullable cursor under `null_cursor: include` (every key
 * of the batch is remembered), a nullable key column (its NULL must stop the pipeline naming the
 * row), and a batch whose last row is above the commit-safe horizon (the safe position is a row
 * inside the batch: that batch is read again through the row-array path).
 */
import { readingSource } from './source-table-missing.js';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, fstatSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { PgduckError } from '../errors/pgduck-error.js';
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import type { HorizonCursor } from '../postgres/horizon.js';
import { copyCsvToFile } from '../postgres/copy-to-file.js';
import { csvTempDir, csvTempPath, isCsvTemp, legacyCsvTempDir } from '../parquet/history-files.js';
import { CSV_PREFIX } from '../parquet/csv-to-parquet.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { orderByColumns, rowsAfter, rowsUpTo } from '../sql/keyset.js';
import type { Position } from '../state/checkpoint-store.js';
import type { BatchState, ReadContext } from './stage.js';

/**
 * A text value as an SQL string constant that no quoting setting can misread: an E'' string (escapes
 * are read whatever standard_conforming_strings says), `\\` and `''` escaped. A constant, not a
 * function call: a function's text result would carry the default collation and clash with a key
 * column of another ("could not determine which collation to use", measured), as a parameter does not.
 */
export function textLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('a position value contains a NUL byte');
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The CSV query (COPY's inner SELECT) and how many trailing position columns follow the batch's columns. */
export function buildCsvExtractSql(
  spec: PipelineSpec,
  columns: Pick<ColumnMapping, 'name' | 'selectExpr'>[],
  cursorType: string,
  keyTypes: string[],
  opts: {
    from: Position | null;
    horizon: { type: HorizonCursor['type']; value: string } | null;
    cursorNullable: boolean;
    /**
     * The bootstrap stream's query (bootstrap-stream.ts): no LIMIT, and rows above the horizon are left
     * out (`cursor <= horizon` in the WHERE, not a trailing column), so every row it reads is safe.
     */
    stream?: boolean;
    /** The stream's last row, inclusive (a parallel bootstrap's range, parallel-bootstrap.ts); absent: to the table's end. */
    to?: Position | null;
  },
): { sql: string; trailing: number } {
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent);
  const select = columns.map((c) => `${c.selectExpr(quoteIdent(c.name))} AS ${quoteIdent(c.name)}`);
  for (const c of order) select.push(`encode(convert_to(${c}::text, 'UTF8'), 'hex')`);
  const safeTest = opts.horizon ? horizonTest(order[0], opts.horizon) : null;
  if (safeTest && !opts.stream) select.push(safeTest);
  const conditions = streamConditions(order, [cursorType, ...keyTypes], opts.from, opts.stream ? (opts.to ?? null) : null, opts.stream ? safeTest : null);
  if (!opts.from && opts.cursorNullable) conditions.unshift(`${order[0]} IS NOT NULL`);
  const table = qualified(spec.source.schema, spec.source.table);
  const sql = [
    `SELECT ${select.join(', ')}`,
    `FROM ${table}`,
    conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '',
    orderByColumns(table, order),
    opts.stream ? '' : `LIMIT ${spec.batchSize}`,
  ]
    .filter(Boolean)
    .join('\n');
  return { sql, trailing: order.length + (opts.horizon && !opts.stream ? 1 : 0) };
}

/** `cursor <= horizon`. Plain timestamptz/timestamp, never the column's declared type: timestamp(0) would round the horizon up. */
export function horizonTest(quotedCursor: string, horizon: { type: HorizonCursor['type']; value: string }): string {
  return `${quotedCursor} <= ${textLiteral(horizon.value)}::${horizon.type}`;
}

/**
 * The WHERE conditions of a read between two positions: `(cursor, pk…) > (from)` and
 * `(cursor, pk…) <= (to)` as row values (a btree index on them answers both), and the horizon test.
 * `order`: the quoted cursor and key columns; the positions as literals (COPY takes no parameters).
 */
export function streamConditions(
  order: readonly string[],
  types: readonly string[],
  from: Position | null,
  to: Position | null,
  safeTest: string | null,
): string[] {
  const literals = (p: Position) => [p.cursor, ...p.key].map((v) => textLiteral(v));
  const conditions: string[] = [];
  if (from) conditions.push(rowsAfter(order, types, literals(from)));
  if (to) conditions.push(rowsUpTo(order, types, literals(to)));
  if (safeTest) conditions.push(safeTest);
  return conditions;
}

/**
 * PGDUCK_DATA_PATH: `csv` (the default) or `rows` (every batch through the row-array path, as before
 * the CSV path; for comparing the two, and for a history of text files).
 */
export function dataPathFromEnv(env: NodeJS.ProcessEnv = process.env): 'csv' | 'rows' {
  const raw = env.PGDUCK_DATA_PATH?.trim() || 'csv';
  if (raw === 'csv' || raw === 'rows') return raw;
  throw new PgduckError(`PGDUCK_DATA_PATH must be csv or rows, got ${JSON.stringify(raw)}`, {
    kind: 'config',
    code: 'CONFIG_INVALID',
    fix: 'unset PGDUCK_DATA_PATH (csv), or set it to rows',
  });
}

/** The CSV path reads this batch exactly (see the file's comment for the cases it leaves to the row-array path). */
export function csvPathFits(spec: PipelineSpec, batch: Pick<BatchState, 'phase' | 'cursorNullable'>, keys: PgColumn[]): boolean {
  if (dataPathFromEnv() === 'rows') return false;
  if (batch.phase !== 'cursor') return false;
  if (batch.cursorNullable && spec.source.nullCursor === 'include') return false;
  return keys.every((k) => k.notNull);
}

/**
 * The last `n` fields of a CSV file's last record, unquoted text (`""` → ''), null for an unquoted
 * empty field (NULL). Only fields without comma, quote or newline (hex, t/f) can be read so; the
 * file is read backwards from its end until `n` separators are found.
 */
export function readTrailingFields(path: string, n: number): (string | null)[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    let want = 4096;
    for (;;) {
      const len = Math.min(size, want);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      let text = buf.toString('latin1');
      if (text.endsWith('\n')) text = text.slice(0, -1);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      const parts = text.split(',');
      // n fields need n separators before them (the record has the batch's columns first).
      if (parts.length > n) return parts.slice(-n).map((f) => (f === '' ? null : f === '""' ? '' : f));
      if (len === size) throw new Error(`${path}: its last record has fewer than ${n} fields`);
      want *= 4;
    }
  } finally {
    closeSync(fd);
  }
}

const fromHex = (field: string | null): string | null => (field === null ? null : Buffer.from(field, 'hex').toString('utf8'));

/** What a CSV batch says of itself, or null when the row-array path must read it (its last row is above the horizon, or NULL in a position column). */
export function csvBatchEnd(fields: (string | null)[], keyCount: number, horizon: boolean): Position | null {
  const [cursor, ...key] = fields.slice(0, 1 + keyCount).map(fromHex);
  if (cursor === null || key.some((k) => k === null)) return null;
  if (horizon && fields[1 + keyCount] !== 't') return null;
  return { cursor, key: key as string[] };
}

/**
 * Remove what a crashed run of this pipeline left of its CSV path (isCsvTemp names only), before its
 * first batch: its CSV folder is listed, never the history folder. CSVs an older pgduck wrote beside
 * the batch files are looked for there once, when the CSV folder is first made (its existence says
 * the history folder was swept).
 */
export function sweepCsvLeftovers(parquetDir: string, pipeline: string): void {
  const dir = csvTempDir(parquetDir, pipeline);
  const remove = (from: string) => {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      return; // no history yet
    }
    for (const name of names) if (isCsvTemp(name)) rmSync(join(from, name), { force: true });
  };
  if (existsSync(dir)) remove(dir);
  else {
    remove(legacyCsvTempDir(parquetDir, pipeline));
    mkdirSync(dir, { recursive: true });
  }
}

/**
 * Read the batch through COPY into its CSV. Returns false when the row-array path must read it
 * instead (nothing of the CSV is kept then); sets the batch's rows, positions and `csv` otherwise.
 */
export async function readCsvBatch(
  ctx: ReadContext,
  batch: BatchState,
  columns: ColumnMapping[],
  cursor: PgColumn,
  keys: PgColumn[],
  horizon: { type: HorizonCursor['type']; value: string } | null,
): Promise<boolean> {
  const { spec, pg } = ctx;
  const path = csvTempPath(ctx.parquetDir, spec.name, batch.seq);
  mkdirSync(dirname(path), { recursive: true });
  const { sql, trailing } = buildCsvExtractSql(
    spec,
    columns,
    cursor.declaredType,
    keys.map((k) => k.declaredType),
    { from: batch.from, horizon, cursorNullable: batch.cursorNullable },
  );
  // A dropped source table is SOURCE_TABLE_MISSING here as on the row-array path (copyCsvToFile removes the partial CSV).
  const rows = await readingSource(spec, () => copyCsvToFile(pg, sql, path, CSV_PREFIX));
  batch.rows = [];
  batch.rowCount = rows;
  batch.drained = rows < spec.batchSize;
  batch.allSafe = true;
  if (rows === 0) {
    rmSync(path, { force: true });
    batch.last = batch.from;
    batch.safe = null;
    return true;
  }
  const end = csvBatchEnd(readTrailingFields(path, trailing), keys.length, horizon !== null);
  if (end === null) {
    rmSync(path, { force: true });
    return false;
  }
  batch.last = end;
  batch.safe = end;
  batch.csv = { path, trailing, bytes: statSync(path).size };
  return true;
}
