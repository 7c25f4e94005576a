/**
 * extract: the next keyset batch from Postgres.
 *
 *   SELECT … FROM t WHERE (cursor, pk…) > ($cursor, $pk…) ORDER BY cursor, pk… LIMIT n
 *
 * Two paths read it. The CSV data path (csv-extract.ts: the same query under COPY … csv, into the
 * batch's `<seq>.csv.tmp`, no value parsed in JavaScript) wherever it reads the batch exactly; the
 * row-array path below (rows as wire text, kept in `batch.rows`) for the rest: the null-cursor
 * sweep, a nullable cursor under null_cursor: include, nullable keys, a batch above the horizon.
 *
 * Row-value comparison, never `>` on the cursor alone (rows sharing one updated_at across a batch
 * boundary are neither lost nor read twice) and never OFFSET. Values arrive as the server's text
 * (identity parsers), so the cursor and keys never pass through a JS Date or float.
 * Only the columns source.columns selects are named (never SELECT *): an excluded column never
 * leaves Postgres. Repeatable: it only reads.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { setAsideUncommittedBatches } from '../parquet/history-files.js';
import { PgduckError } from '../errors/pgduck-error.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping, PgColumn, RefusedColumn } from '../schema/column.js';
import { mapColumn, isRefused } from '../schema/type-map.js';
import { missingIncluded, selectColumns } from '../schema/column-selection.js';
import { introspectShape, introspectTable, tableExists } from '../postgres/introspect-table.js';
import { readHorizon, type HorizonCursor } from '../postgres/horizon.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { orderByColumns, rowsAfter } from '../sql/keyset.js';
import type { Position, PositionColumns } from '../state/checkpoint-store.js';
import type { WireRow } from '../parquet/arrow-table.js';
import { nextStart, type BatchState, type ReadContext, type Stage } from './stage.js';
import { primaryKeyAttnums, targetFingerprint } from './target-check.js';
import { plannedColumns } from './plan-step.js';
import { noteHorizon } from './note-horizon.js';
import { readingSource, sourceTableMissing } from './source-table-missing.js';
import { buildCsvExtractSql, csvPathFits, readCsvBatch, sweepCsvLeftovers } from './csv-extract.js';
import { BootstrapStream, isStreamSource, type StreamSource } from './bootstrap-stream.js';
import { RangeReader } from './parallel-bootstrap.js';
import { buildSplitSql, startRanges } from './start-ranges.js';
import { bootstrapParallel } from '../config/pipeline-spec.js';
import { buildNullCursorSql, chunkDigest, chunkUnchanged, noteTouchedKeys, nullCursorRefused } from './null-cursor-sweep.js';

/** The type the horizon is compared in: a timestamp or date cursor's own type; null for any other cursor (no horizon). */
export function horizonType(cursor: PgColumn): HorizonCursor['type'] | null {
  if (cursor.elemTypname !== null) return null;
  return cursor.typname === 'timestamptz' || cursor.typname === 'timestamp' || cursor.typname === 'date' ? cursor.typname : null;
}

/** The extract query for a column list; also what `plan` prints. */
export function buildExtractSql(
  spec: PipelineSpec,
  columns: Pick<ColumnMapping, 'name' | 'selectExpr'>[],
  cursorType: string,
  keyTypes: string[],
  /** horizon: the type the horizon parameter is compared in (see horizonType), null for none. */
  opts: { hasPosition: boolean; horizon: HorizonCursor['type'] | null; cursorNullable?: boolean },
): { sql: string; positionIndexes: number[]; safeIndex: number | null } {
  const select: string[] = columns.map((c) => `${c.selectExpr(quoteIdent(c.name))} AS ${quoteIdent(c.name)}`);
  const order = [spec.source.cursor, ...spec.source.primaryKey];
  // The position columns must be the raw text of the column (what `$n::type` reads back exactly).
  const positionIndexes = order.map((name) => {
    const i = columns.findIndex((c) => c.name === name);
    if (i >= 0 && columns[i].selectExpr(quoteIdent(name)) === quoteIdent(name)) return i;
    select.push(`${quoteIdent(name)}::text`);
    return select.length - 1;
  });
  let safeIndex: number | null = null;
  if (opts.horizon) {
    // Plain timestamptz/timestamp, never the column's declared type: timestamp(0) would round the horizon up.
    select.push(`${quoteIdent(spec.source.cursor)} <= $${opts.hasPosition ? order.length + 1 : 1}::${opts.horizon}`);
    safeIndex = select.length - 1;
  }
  const types = [cursorType, ...keyTypes];
  // A NULL cursor never compares greater, so only the first batch must leave such rows out (the null-cursor sweep reads them).
  const where = opts.hasPosition
    ? `WHERE ${rowsAfter(order.map(quoteIdent), types)}`
    : opts.cursorNullable
      ? `WHERE ${quoteIdent(spec.source.cursor)} IS NOT NULL`
      : '';
  const table = qualified(spec.source.schema, spec.source.table);
  const sql = [`SELECT ${select.join(', ')}`, `FROM ${table}`, where, orderByColumns(table, order.map(quoteIdent)), `LIMIT ${spec.batchSize}`]
    .filter(Boolean)
    .join('\n');
  return { sql, positionIndexes, safeIndex };
}

/**
 * Map every selected source column (source.columns, src/schema/column-selection.ts) or fail naming
 * each refused one. An excluded column is never mapped, so it is in no SELECT and its type may be
 * one pgduck refuses (a tsvector).
 */
export function mapColumns(spec: PipelineSpec, source: PgColumn[]): ColumnMapping[] {
  const absent = missingIncluded(spec.source, source);
  if (absent.length > 0) {
    throw new PgduckError(
      `${spec.source.schema}.${spec.source.table} has no column ${absent.map((n) => `"${n}"`).join(', ')}, which source.columns.include lists (columns: ${source.map((c) => c.name).join(', ')})`,
      {
        kind: 'needs-action',
        code: 'SOURCE_COLUMN_MISSING',
        fix: `restore the column, or correct source.columns.include in ${spec.file} (a renamed column: write its new name)`,
      },
    );
  }
  const mapped: (ColumnMapping | RefusedColumn)[] = selectColumns(spec.source, source).map(mapColumn);
  const refused = mapped.filter(isRefused);
  if (refused.length > 0) {
    throw new PgduckError(
      `${spec.source.schema}.${spec.source.table}: cannot sync ${refused.map((r) => `column ${r.name} (${r.pgType}): ${r.reason}`).join('; ')}`,
      {
        kind: 'needs-action',
        code: 'TYPE_REFUSED',
        fix: 'change the column to a type pgduck maps exactly (README "Types"), sync a view that casts it, or leave it out with source.columns.exclude',
      },
    );
  }
  return mapped as ColumnMapping[];
}

export function checkKeyColumns(spec: PipelineSpec, source: PgColumn[]): { cursor: PgColumn; keys: PgColumn[] } {
  const find = (name: string, role: string) => {
    const col = source.find((c) => c.name === name);
    if (!col) {
      throw new PgduckError(`${spec.source.schema}.${spec.source.table} has no ${role} column "${name}" (columns: ${source.map((c) => c.name).join(', ')})`, {
        kind: 'needs-action',
        code: 'SOURCE_COLUMN_MISSING',
        fix: `restore the column, or name an existing one in ${spec.file} (source.cursor / source.primary_key)`,
      });
    }
    return col;
  };
  return { cursor: find(spec.source.cursor, 'cursor'), keys: spec.source.primaryKey.map((k) => find(k, 'primary-key')) };
}

export const extractStage: Stage<ReadContext> & { readonly kind: 'extract' } = {
  name: 'extract',
  kind: 'extract',
  reads: ['phase', 'from', 'afterKey'],
  writes: [
    'sourceColumns',
    'columns',
    'rows',
    'rowCount',
    'last',
    'safe',
    'allSafe',
    'drained',
    'cursorNullable',
    'nullCursorChunk',
    'csv',
    'stream',
    'targetUnchanged',
  ],
  postgres: true,
  describe(spec, inputs) {
    const { source } = inputs;
    const { columns, withUnknown } = plannedColumns(spec, inputs);
    const cursorType = source?.cursorType ?? `<type of ${spec.source.cursor}>`;
    const keyTypes = source?.keyTypes ?? spec.source.primaryKey.map((k) => `<type of ${k}>`);
    // Offline the cursor type is unknown: assume the usual timestamptz, for which the horizon test is added.
    const horizon = source ? source.horizon : 'timestamptz';
    const build = (hasPosition: boolean) => withUnknown(buildExtractSql(spec, columns, cursorType, keyTypes, { hasPosition, horizon }).sql);
    const sweep = (hasPosition: boolean) => withUnknown(buildNullCursorSql(spec, columns, keyTypes, hasPosition).sql);
    // The stream's SQL carries its start and horizon as literals (COPY takes no parameters): shown as placeholders.
    const stream = withUnknown(
      buildCsvExtractSql(spec, columns, cursorType, keyTypes, {
        from: { cursor: '<checkpoint cursor>', key: spec.source.primaryKey.map((k) => `<checkpoint ${k}>`) },
        horizon: horizon ? { type: horizon, value: '<horizon>' } : null,
        cursorNullable: false,
        stream: true,
      }).sql,
    );
    const parallel = bootstrapParallel(spec);
    const split = buildSplitSql(spec, cursorType, keyTypes, horizon ? { type: horizon, value: '<horizon>' } : null);
    const from = { cursor: '<checkpoint cursor>', key: spec.source.primaryKey.map((k) => `<checkpoint ${k}>`) };
    const rangeSql = withUnknown(
      buildCsvExtractSql(spec, columns, cursorType, keyTypes, {
        from: { cursor: '<range start cursor>', key: spec.source.primaryKey.map((k) => `<range start ${k}>`) },
        to: { cursor: '<range end cursor>', key: spec.source.primaryKey.map((k) => `<range end ${k}>`) },
        horizon: horizon ? { type: horizon, value: '<horizon>' } : null,
        cursorNullable: false,
        stream: true,
      }).sql,
    );
    return {
      reads: 'keyset batch ordered by (cursor, primary key…)',
      bootstrap:
        'while the bootstrap is not done (and the CSV path fits, the cursor NOT NULL): one COPY of the whole table from the checkpoint (or the beginning) up to the horizon read before it, on a connection of its own, cut into batch_size CSV files (at most 2 waiting; the COPY waits meanwhile); each file is one batch. After it, keyset batches from its last position (rows above its horizon, or changed since its snapshot); a short last file ends the bootstrap when no row follows it. Otherwise keyset batches from the start',
      ...(parallel > 1 && {
        'parallel bootstrap': `bootstrap.parallel ${parallel}: the stream is read as up to ${parallel} contiguous ranges of (cursor, primary key…) order, all in one snapshot: one connection exports it (REPEATABLE READ READ ONLY, pg_export_snapshot()), counts the rows the stream would read and reads the positions that split them at multiples of batch_size (${parallel} ranges of ceil(rows / ${parallel} / batch_size) batches, the last the rest); each range is a COPY on a connection of its own that imports the snapshot (SET TRANSACTION SNAPSHOT) and locks the table (ACCESS SHARE NOWAIT) before the export ends, and numbers its files after the ranges before it, so every batch, checkpoint and history file is the one stream's. The run takes range 1's files, then range 2's, …; the later ranges read ahead meanwhile, at most 2 files waiting each. A range that fails or reaches its segment's bound ends the ranges there: a new stream goes on from the last applied batch (after a failure, serially). A table of at most one range's rows, or a range that cannot start (no connection left, a DDL waiting on the table), is read by one stream`,
      }),
      'data path':
        'COPY (the query) TO STDOUT (FORMAT csv) into parquet/.tmp/<pipeline>/<batch seq>.csv.tmp, the position as trailing hex columns; rows as text (for the Parquet stage) in the null-cursor sweep, for a nullable key or a cursor under null_cursor: include, and for a batch whose last row is above the horizon',
      horizon: horizon ? 'read from pg_stat_activity before every batch' : 'none: the cursor is not a timestamp or a date',
      'null cursor':
        spec.source.nullCursor === 'include'
          ? 'when the cursor column is nullable: once the keyset pass drained, rows whose cursor is NULL are read by key (the first batch leaves them out); they never move the checkpoint, and a chunk the last sweep already wrote is not written again'
          : 'when the cursor column is nullable: a row whose cursor is NULL stops the pipeline (null_cursor: fail)',
      sql: {
        'first batch': build(false),
        'next batches': build(true),
        'bootstrap stream': stream,
        ...(parallel > 1 && {
          'parallel bootstrap: export the snapshot': 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot()',
          'parallel bootstrap: count (in the snapshot)': split.count(from),
          'parallel bootstrap: each split position (in the snapshot)': split.positionAt(
            { cursor: '<range start cursor>', key: spec.source.primaryKey.map((k) => `<range start ${k}>`) },
            '<rows per range - 1>',
          ),
          'parallel bootstrap: each range (its own connection)': `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT '<snapshot id>';\nLOCK TABLE ${qualified(spec.source.schema, spec.source.table)} IN ACCESS SHARE MODE NOWAIT;\nCOPY (${rangeSql}) TO STDOUT (FORMAT csv)   -- the last range without its upper bound`,
        }),
        'after the stream: does a row follow its last file?': buildRowsFollowSql(spec, cursorType, keyTypes),
        ...(spec.source.nullCursor === 'include' ? { 'null-cursor sweep': sweep(false), 'null-cursor sweep, next chunks': sweep(true) } : {}),
      },
    };
  },
  async run(ctx: ReadContext, batch: BatchState) {
    await readBatch(ctx, batch);
    // Nothing new: whether the run can end without opening the DuckDB file (target-check.ts).
    if (batch.rowCount === 0 && nextStart(batch) === null) batch.targetUnchanged = await targetUnchanged(ctx, batch);
  },
};

/**
 * The target check of an idle batch (target-check.ts): the digest of what the drift check would go by
 * now equals the one the last drift check recorded, and no backfill is pending. One small catalog
 * query (the primary key), only when the batch is empty.
 */
async function targetUnchanged(ctx: ReadContext, batch: BatchState): Promise<boolean> {
  const { spec, store, duckdbPath } = ctx;
  if (duckdbPath === undefined) return false;
  const recorded = store.targetCheck(spec.name);
  if (recorded === null || store.pendingBackfills(spec.name).length > 0) return false;
  // A file removed since: the drift check finds the table missing, and the run starts over (target-lost.ts).
  if (!existsSync(duckdbPath)) return false;
  const shape = await introspectShape(ctx.pg, spec.source.schema, spec.source.table);
  if (!shape) return false;
  const now = targetFingerprint({ spec, duckdbPath, generation: ctx.generation, sourceColumns: batch.sourceColumns, primaryKey: primaryKeyAttnums(shape) });
  return now === recorded;
}

/**
 * The checkpoint was written for another key or cursor than the pipeline file now names: its values
 * do not compare with the new columns (a key of other types fails the read; of the same types, or a
 * cursor of the same type, the read would start at a position that means nothing there and could
 * skip rows). `on`: the columns the checkpoint recorded (null when written before pgduck recorded
 * them: then only the key's length is known).
 */
export function refuseMovedPosition(spec: PipelineSpec, from: Position, on: PositionColumns | null): void {
  const keys = spec.source.primaryKey;
  if (from.key.length !== keys.length || (on && on.key.join('\u0000') !== keys.join('\u0000'))) {
    const held = on ? `(${on.key.join(', ')})` : `${from.key.length} key column(s)`;
    throw new PgduckError(
      `the primary key changed: the checkpoint holds a position on ${held}, primary_key now names (${keys.join(', ')}). ` +
        `To rebuild the target on the new key: pgduck reset ${spec.name} --drop-target`,
      { kind: 'needs-action', code: 'PRIMARY_KEY_CHANGED', fix: `pgduck reset ${spec.name} --drop-target` },
    );
  }
  if (on && on.cursor !== spec.source.cursor) {
    throw new PgduckError(
      `the cursor changed: the checkpoint holds a position on ${on.cursor}, cursor now names ${spec.source.cursor}, and a position on one column ` +
        `says nothing about another (reading on from it could skip rows); nothing was read. To read every row again on the new cursor ` +
        `(the DuckDB table is kept, its rows replaced): pgduck reset ${spec.name}`,
      { kind: 'needs-action', code: 'CURSOR_CHANGED', fix: `pgduck reset ${spec.name}` },
    );
  }
}

/** Read the batch: the keyset batch (CSV data path or rows) or a chunk of the null-cursor sweep. */
async function readBatch(ctx: ReadContext, batch: BatchState): Promise<void> {
  const { spec, pg } = ctx;
  if (batch.from) refuseMovedPosition(spec, batch.from, ctx.store.get(spec.name)?.positionOn ?? null);
  // A batch of the bootstrap stream: its file is already cut (or being cut); the columns are the stream's.
  if (batch.phase === 'cursor' && isStreamSource(ctx.memory.stream) && (await takeStreamBatch(ctx, batch, ctx.memory.stream))) return;
  const source = await introspectTable(pg, spec.source.schema, spec.source.table);
  if (!source) throw sourceTableMissing(spec);
  const { cursor, keys } = checkKeyColumns(spec, source);
  const columns = mapColumns(spec, source);
  batch.sourceColumns = source;
  batch.columns = columns;
  batch.cursorNullable = !cursor.notNull;
  if (batch.phase === 'null-cursor') return readNullCursorChunk(ctx, batch, columns, keys);
  // Whatever the cursor's nullability: digests of a sweep before the column was made NOT NULL would
  // otherwise wait there, and once it is nullable again hide rows back at NULL as that sweep saw them
  // (found by review: DuckDB kept the versions read while the cursor was set, every run "ok").
  takeLastSweep(ctx);
  const type = horizonType(cursor);
  const horizonCursor: HorizonCursor | null =
    type === 'timestamp' || type === 'date' ? { type, zone: spec.source.cursorTimezone ?? null } : type ? { type } : null;
  const horizon = horizonCursor ? await readHorizon(pg, { ...spec.horizon, cursor: horizonCursor, source: spec.source }) : null;
  if (horizon) noteHorizon(ctx, horizon);

  if (!ctx.memory.csvLeftoversSwept) {
    sweepCsvLeftovers(ctx.parquetDir, spec.name);
    // Before this run writes its first file: what a crashed run left past the count (history-files.ts).
    const set = setAsideUncommittedBatches(ctx.parquetDir, spec.name, ctx.store.get(spec.name)?.batchesTotal ?? 0);
    if (set.length > 0) {
      ctx.log.info(
        { pipeline: spec.name, files: set.map((f) => basename(f)) },
        `${set.length} batch file${set.length === 1 ? '' : 's'} of a run that never committed ${set.length === 1 ? 'it' : 'them'} set aside (renamed *.uncommitted-<time>: never replayed)`,
      );
    }
    ctx.memory.csvLeftoversSwept = true;
  }
  // The bootstrap as one streaming read (bootstrap-stream.ts), decided at the run's first keyset batch.
  if (ctx.memory.stream === null) {
    const fits = csvPathFits(spec, batch, keys) && streamFits(ctx, cursor);
    ctx.memory.stream = 'none';
    if (fits) {
      const stream = await startStream(ctx, batch, columns, source, cursor, keys, horizon && type ? { type, value: horizon.value } : null);
      ctx.memory.stream = stream;
      if (await takeStreamBatch(ctx, batch, stream)) return;
    }
  }
  // The CSV data path (csv-extract.ts) where it reads the batch exactly; else, or when it hands the batch back, rows as text.
  if (csvPathFits(spec, batch, keys) && (await readCsvBatch(ctx, batch, columns, cursor, keys, horizon && type ? { type, value: horizon.value } : null)))
    return;

  const { sql, positionIndexes, safeIndex } = buildExtractSql(
    spec,
    columns,
    cursor.declaredType,
    keys.map((k) => k.declaredType),
    {
      hasPosition: batch.from !== null,
      horizon: type,
      cursorNullable: batch.cursorNullable,
    },
  );
  const values: string[] = [];
  if (batch.from) values.push(batch.from.cursor, ...batch.from.key);
  if (horizon) values.push(horizon.value);
  // Dropped since the catalog read above: said as the catalog read would have said it.
  const res = await readingSource(spec, () => pg.query<WireRow>({ text: sql, values, rowMode: 'array' }));
  const rows = res.rows;

  let safe: Position | null = null;
  let allSafe = true;
  const positionOf = (row: WireRow): Position => ({
    cursor: row[positionIndexes[0]] as string,
    key: positionIndexes.slice(1).map((i) => row[i] as string),
  });
  // (NULL, …) > (…) is never true: a row with a NULL cursor or key would be read once at bootstrap,
  // then never again, and would leave a position nothing can resume from. Refuse it by name.
  const nullAt = rows.findIndex((row) => positionIndexes.some((i) => row[i] === null));
  if (nullAt >= 0) {
    const row = rows[nullAt];
    const names = [spec.source.cursor, ...spec.source.primaryKey];
    const which = positionIndexes.map((i, j) => (row[i] === null ? names[j] : null)).filter((n) => n !== null);
    throw nullKeyRefused(
      spec,
      which,
      positionIndexes.slice(1).map((i) => row[i] as string | null),
    );
  }
  if (safeIndex === null) {
    safe = rows.length > 0 ? positionOf(rows[rows.length - 1]) : null;
  } else {
    // Rows come in cursor order, so the safe rows are a prefix.
    for (const row of rows) {
      if (row[safeIndex] === 't') safe = positionOf(row);
      else {
        allSafe = false;
        break;
      }
    }
  }
  if (batch.cursorNullable && spec.source.nullCursor === 'include')
    noteTouchedKeys(
      ctx.memory,
      rows.map((row) => positionIndexes.slice(1).map((i) => row[i] as string)),
    );
  // Trailing position/horizon columns stay in the row arrays: the Parquet stage reads columns by index.
  batch.rows = rows;
  batch.rowCount = rows.length;
  batch.last = rows.length > 0 ? positionOf(rows[rows.length - 1]) : batch.from;
  batch.safe = safe;
  batch.allSafe = allSafe;
  batch.drained = rows.length < spec.batchSize;
}

/** A row whose cursor or key holds NULL (`which` names those columns; `key`: its key parts as read). */
function nullKeyRefused(spec: PipelineSpec, which: string[], key: readonly (string | null)[]): PgduckError {
  return new PgduckError(
    `${spec.source.schema}.${spec.source.table}: a row has NULL in ${which.join(', ')} ` +
      `(key ${key.map((v, j) => `${spec.source.primaryKey[j]}=${v ?? 'NULL'}`).join(', ')}); ` +
      'the cursor and the primary key must never be NULL (declare them NOT NULL)',
    { kind: 'needs-action', code: 'SOURCE_NULL_KEY', fix: 'set the NULL values, then declare the cursor and key columns NOT NULL' },
  );
}

/**
 * The digests the last NULL-cursor sweep recorded, taken into this run's memory at its first batch
 * (before any of its rows is applied) and forgotten in the state store: the sweep compares its
 * chunks with the copy in memory and records them again as it goes. A run that ends before its sweep
 * has recorded them (a crash, a stop, a failure) leaves none, so the next sweep writes every chunk:
 * the keyset pass of that run may have changed rows the digests describe (a row given a cursor,
 * then set back to NULL with its old values, would otherwise match the old digest and be skipped).
 */
function takeLastSweep(ctx: ReadContext): ReadonlySet<string> {
  if (ctx.memory.lastSweep === null) {
    ctx.memory.lastSweep = ctx.store.nullCursorChunks(ctx.spec.name);
    if (ctx.memory.lastSweep.size > 0) ctx.store.forgetNullCursorChunks(ctx.spec.name);
  }
  return ctx.memory.lastSweep;
}

/** One chunk of the null-cursor sweep (null-cursor-sweep.ts): rows whose cursor is NULL, after `batch.afterKey`, in key order. */
async function readNullCursorChunk(ctx: ReadContext, batch: BatchState, columns: ColumnMapping[], keys: PgColumn[]): Promise<void> {
  const { spec, pg } = ctx;
  batch.last = batch.from;
  batch.safe = null;
  batch.allSafe = true;
  if (!batch.cursorNullable) {
    // NOT NULL: nothing to sweep, and no query to run.
    batch.drained = true;
    return;
  }
  const { sql, positionIndexes } = buildNullCursorSql(
    spec,
    columns,
    keys.map((k) => k.declaredType),
    batch.afterKey !== null,
  );
  const res = await readingSource(spec, () => pg.query<WireRow>({ text: sql, values: batch.afterKey ?? [], rowMode: 'array' }));
  const rows = res.rows;
  const keyOf = (row: WireRow) => positionIndexes.map((i) => row[i] as string);
  if (rows.length > 0 && spec.source.nullCursor === 'fail') throw nullCursorRefused(spec, keyOf(rows[0]));
  // A NULL key part: the keyset refuses it (readRows), and so does the sweep. Its DELETE matches
  // no NULL (t.k = b.k), so a changed chunk would insert the row a second time.
  const nullKeyAt = rows.findIndex((row) => positionIndexes.some((i) => row[i] === null));
  if (nullKeyAt >= 0) {
    const key = keyOf(rows[nullKeyAt]);
    throw nullKeyRefused(
      spec,
      spec.source.primaryKey.filter((_, j) => key[j] === null),
      key,
    );
  }
  const digest = chunkDigest(columns, rows);
  const unchanged = chunkUnchanged(ctx.memory, takeLastSweep(ctx), digest, rows.map(keyOf));
  batch.nullCursorChunk = { digest, lastKey: rows.length > 0 ? keyOf(rows[rows.length - 1]) : batch.afterKey };
  batch.rows = unchanged ? [] : rows;
  batch.rowCount = batch.rows.length;
  batch.drained = rows.length < spec.batchSize;
}

/**
 * Whether this run's bootstrap reads as one stream (bootstrap-stream.ts): the bootstrap is not done,
 * the CSV path fits (csvPathFits), and the cursor is NOT NULL. A nullable cursor is left to keyset
 * batches (its NULL rows are the null-cursor sweep's, which the stream cannot say apart cheaply).
 */
function streamFits(ctx: ReadContext, cursor: PgColumn): boolean {
  if (!ctx.openCopy || !cursor.notNull) return false;
  return !(ctx.store.get(ctx.spec.name)?.bootstrapDone ?? false);
}

/** How long one stream segment may last: 60 s unless PGDUCK_STREAM_SEGMENT_SECONDS says otherwise, and under half a session's statement_timeout. */
export const STREAM_SEGMENT_MS = 60_000;

export function streamSegmentMs(env: NodeJS.ProcessEnv, statementTimeoutMs: number): number {
  const raw = env.PGDUCK_STREAM_SEGMENT_SECONDS?.trim();
  let ms = STREAM_SEGMENT_MS;
  if (raw) {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(raw))
      throw new PgduckError(`PGDUCK_STREAM_SEGMENT_SECONDS must be a number of seconds (0 or more), got ${JSON.stringify(raw)}`, {
        kind: 'config',
        code: 'CONFIG_INVALID',
        fix: 'unset PGDUCK_STREAM_SEGMENT_SECONDS (60), or set it to a number of seconds',
      });
    ms = Number(raw) * 1000;
  }
  return statementTimeoutMs > 0 ? Math.min(ms, statementTimeoutMs / 2) : ms;
}

/** Start the stream from the batch's position, bounded by the horizon read just before (rule 3: read before the data query). */
async function startStream(
  ctx: ReadContext,
  batch: BatchState,
  columns: ColumnMapping[],
  source: PgColumn[],
  cursor: PgColumn,
  keys: PgColumn[],
  horizon: { type: HorizonCursor['type']; value: string } | null,
): Promise<StreamSource> {
  const { spec } = ctx;
  // bootstrap.parallel: the same files from n ranges of one snapshot (parallel-bootstrap.ts); null when the table is too small to split.
  if (bootstrapParallel(spec) > 1 && ctx.exportSnapshot && !ctx.memory.parallelFailed) {
    const segmentMs = (statementTimeoutMs: number) => streamSegmentMs(process.env, statementTimeoutMs);
    const ranges = await startRanges(ctx, batch, { columns, source, cursor, keys, horizon, segmentMs });
    if (ranges) return ranges;
  }
  const { sql, trailing } = buildCsvExtractSql(
    spec,
    columns,
    cursor.declaredType,
    keys.map((k) => k.declaredType),
    { from: batch.from, horizon, cursorNullable: false, stream: true },
  );
  const open = ctx.openCopy as NonNullable<ReadContext['openCopy']>;
  const copy = await readingSource(spec, () => open(sql));
  const stream = new BootstrapStream({
    copy,
    batchSize: spec.batchSize,
    parquetDir: ctx.parquetDir,
    pipeline: spec.name,
    firstSeq: batch.seq,
    from: batch.from,
    trailing,
    keyCount: keys.length,
    columns,
    sourceColumns: source,
    segmentMs: streamSegmentMs(process.env, copy.statementTimeoutMs),
  });
  ctx.log.debug({ pipeline: spec.name, from: batch.from?.cursor ?? null, horizon: horizon?.value ?? null }, 'bootstrap stream started');
  return stream;
}

/**
 * The batch as the stream's next file; false once the stream has ended and every file was taken (the
 * stream is closed then, and the run goes on with keyset batches from the batch's position).
 */
async function takeStreamBatch(ctx: ReadContext, batch: BatchState, stream: StreamSource): Promise<boolean> {
  const { spec } = ctx;
  // The stream's rows were read from one snapshot, but a table dropped since is said as a keyset
  // batch's read would say it (SOURCE_TABLE_MISSING, in extract): nothing more of it is applied.
  // One catalog lookup per batch (no lock: a DROP waits for the COPY's own lock, not for this).
  if (!(await tableExists(ctx.pg, spec.source.schema, spec.source.table))) throw sourceTableMissing(spec);
  const file = await readingSource(spec, () => stream.take());
  if (!file) {
    await stream.close();
    // A parallel range failed: the rest of this run's bootstrap is read by serial streams.
    if (stream instanceof RangeReader && stream.failed) ctx.memory.parallelFailed = true;
    // Ended at a segment's bound: the next batch starts a new stream from here (its own snapshot, so
    // its first batch counts the target again: keysAbsent only while the target held none of its keys).
    ctx.memory.stream = stream.cutShort ? null : 'ended';
    return false;
  }
  const samePosition = (a: Position | null, b: Position | null) => JSON.stringify(a) === JSON.stringify(b);
  if (file.seq !== batch.seq || !samePosition(file.from, batch.from))
    throw new PgduckError(`internal: the bootstrap stream's file ${file.seq} does not start where batch ${batch.seq} does`, {
      kind: 'internal',
      code: 'INTERNAL',
    });
  batch.sourceColumns = stream.sourceColumns;
  batch.columns = stream.columns;
  batch.cursorNullable = false;
  batch.rows = [];
  batch.rowCount = file.rows;
  // Rows above the horizon were left out of the stream, and rows may have come since its snapshot:
  // after the stream's short last file, drained only when no row follows it now (else keyset batches
  // read them, and decide `drained` as always). A short keyset batch would have said the same.
  batch.drained = file.short && !(await rowsFollow(ctx, stream, file.last));
  batch.allSafe = true;
  batch.last = file.last;
  batch.safe = file.last;
  batch.csv = { path: file.path, trailing: stream.trailing, bytes: file.bytes };
  batch.stream = { first: file.seq === stream.firstSeq };
  return true;
}

/**
 * Whether the source holds a row after `position` (the bootstrap stream's last file: is the source
 * drained?). The key types are the stream's: its COPY held the table's lock, so no DDL changed them.
 */
async function rowsFollow(ctx: ReadContext, stream: StreamSource, position: Position): Promise<boolean> {
  const { spec, pg } = ctx;
  const { cursor, keys } = checkKeyColumns(spec, stream.sourceColumns);
  const sql = buildRowsFollowSql(
    spec,
    cursor.declaredType,
    keys.map((k) => k.declaredType),
  );
  const res = await readingSource(spec, () => pg.query({ text: sql, values: [position.cursor, ...position.key] }));
  return res.rows.length > 0;
}

/** The query rowsFollow runs; also what `plan` prints. */
export function buildRowsFollowSql(spec: PipelineSpec, cursorType: string, keyTypes: string[]): string {
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent);
  return `SELECT 1 FROM ${qualified(spec.source.schema, spec.source.table)} WHERE ${rowsAfter(order, [cursorType, ...keyTypes])} LIMIT 1`;
}
