/**
 * backfill: re-read existing rows from the source for some columns and fill them in DuckDB.
 *
 * Why: `ALTER TABLE … ADD COLUMN c … DEFAULT x` (or a generated column, or an ALTER … TYPE that
 * re-prints values) changes every existing row in Postgres *without* moving its cursor, so the main
 * stream never re-reads them. The drift check records a backfill (state store) before the DDL that
 * makes it necessary; this stage, the plan's step after drift-check, runs every pending one to the
 * end, before the batch that found the drift is applied. On every other batch it finds none pending
 * and returns after one state-store read.
 *
 * How, per backfill:
 *   SELECT key…, cursor, columns… FROM t WHERE (key…) > ($key…) ORDER BY key… LIMIT batch_size
 *   → one Parquet file → the target rows it matches, with its columns in place, staged in a temp
 *   table (WHERE t.key = b.key AND t.cursor <= b.cursor), then DELETEd and INSERTed in one transaction
 *   → the state store records the last key (the main checkpoint is never touched).
 * A rewrite that re-reads every column the batches load also inserts the file's rows whose key the
 * target lacks, in the same transaction: rows the cursor never showed (a partition attached with its
 * old rows); its history file says `insertsMissing`, so a rebuilding replay does the same.
 *
 * Not an UPDATE: DuckDB's UPDATE keeps a value that compares equal to the new one, and some differ
 * while comparing equal (INTERVAL '42 days' = '1 month 12 days'), so a justified interval would be
 * lost. DELETE + INSERT writes every value as read, as the upsert does.
 *
 * Contract:
 * - Never backwards: a target row whose cursor is *newer* than the row read was loaded by the main
 *   stream after this read (with the column already in it) and is left alone. A target row that is
 *   older than the row read gets the column from the newer version; the main stream delivers that
 *   newer version in full later (its cursor is past the checkpoint), so nothing stays mixed.
 * - Crash-safe: a crash between the DuckDB commit and the state-store update re-applies one batch,
 *   which sets the same values again. A crash anywhere else resumes from the last recorded key.
 * - Only key, cursor and the backfilled columns are read: cheap next to a re-bootstrap.
 * - A column resolved by attnum: a backfilled column renamed meanwhile is followed, a dropped one is left out.
 * - Every batch file is kept, as part of the pipeline's Parquet history (history-files.ts names it
 *   after the batch whose drift check ran it), so `pgduck replay` applies the same UPDATEs in the
 *   same place: without them a replayed table would miss the values Postgres filled in.
 */
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import { introspectShape } from '../postgres/introspect-table.js';
import { estimateRows } from '../postgres/estimate-rows.js';
import { qualified, quoteIdent, quoteLiteral } from '../sql/identifier.js';
import { orderByColumns, rowsAfter } from '../sql/keyset.js';
import { targetLabel, targetRef } from '../duckdb/target-table.js';
import { catalogNameOf } from '../duckdb/catalog-name.js';
import type { WireRow } from '../parquet/arrow-table.js';
import { writeParquetRows } from '../parquet/write-parquet-rows.js';
import { backfillFilePath } from '../parquet/history-files.js';
import { encodeHistoryMetadata } from '../parquet/history-metadata.js';
import { faultPoint } from '../faults/fault-point.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { Backfill } from '../state/checkpoint-store.js';
import { plannedColumns } from './plan-step.js';
import type { Stage, StageContext } from './stage.js';
import { batchTransaction } from './batch-transaction.js';
import type { LakeSession } from '../duckdb/lake.js';
import { PgduckError } from '../errors/pgduck-error.js';
import { readingSource, sourceTableMissing } from './source-table-missing.js';
import { insertOnlyLiving } from './upsert.js';
import { DELETED_AT_COLUMN } from '../schema/deleted-at-column.js';

export interface BackfillSql<C = ColumnMapping> {
  /** Postgres: the next keyset batch ($1… = the last key applied; without them, the first batch). */
  read: (hasPosition: boolean) => string;
  /** Indexes in each row of the exact key text, for the next position. */
  positionIndexes: number[];
  /**
   * DuckDB: apply one batch file, in order: `stage` (outside a transaction), then `delete` and `insert`
   * in one transaction (the insert's count is the rows changed), then `drop`. `where`: a further
   * condition on the target row `t` and the file's row `b`.
   */
  apply: (
    target: string,
    parquetPath: string,
    where?: string,
  ) => { stage: string | null; delete: string | null; insert: string | null; insertMissing: string | null; drop: string | null };
  /** Postgres: does any existing row hold a value in these columns at all? */
  probe: string;
  /** Columns in Parquet order (key…, cursor, backfilled…). */
  carried: C[];
}

/** The statements of one backfill; pure, so tests and `plan` can read them. */
export function buildBackfillSql<C extends Pick<ColumnMapping, 'name' | 'selectExpr' | 'loadExpr'>>(
  spec: PipelineSpec,
  keys: C[],
  keyTypes: string[],
  cursor: C,
  columns: C[],
  /**
   * `insertMissing`: the file carries every column the target's rows are made of (a rewrite
   * backfill of every column), so its rows whose key the target lacks are inserted too, after the
   * replace (`insertOnly`: a condition on the file's row `b` for that, soft_delete_mode: remove).
   * `unmark`: the target has hard_delete_mode mark's column, and a row read from the source is alive:
   * the replaced rows get it NULL (found by review: a row marked gone, then restored with its old
   * cursor, stayed hidden). With no column to fill and nothing to unmark, only the missing rows are inserted.
   */
  opts: { insertMissing?: boolean; insertOnly?: string; unmark?: boolean } = {},
): BackfillSql<C> {
  const q = quoteIdent;
  const carried = [...keys, cursor, ...columns];
  const select = carried.map((c) => `${c.selectExpr(q(c.name))} AS ${q(c.name)}`);
  const positionIndexes = keys.map((k, i) => {
    if (k.selectExpr(q(k.name)) === q(k.name)) return i;
    select.push(`${q(k.name)}::text`);
    return select.length - 1;
  });
  const from = qualified(spec.source.schema, spec.source.table);
  const keyColumns = keys.map((k) => q(k.name));
  const read = (hasPosition: boolean) =>
    [
      `SELECT ${select.join(', ')}`,
      `FROM ${from}`,
      hasPosition ? `WHERE ${rowsAfter(keyColumns, keyTypes)}` : '',
      orderByColumns(from, keyColumns),
      `LIMIT ${spec.batchSize}`,
    ]
      .filter(Boolean)
      .join('\n');
  const keyMatch = keys.map((k) => `t.${q(k.name)} = b.${q(k.name)}`).join(' AND ');
  const c = q(cursor.name);
  const staging = q('pgduck_backfill_rows');
  // The file's rows, each column loaded as the batches load it.
  const fileRows = (parquetPath: string) =>
    `(SELECT ${carried.map((col) => `${col.loadExpr(q(col.name))} AS ${q(col.name)}`).join(', ')} FROM read_parquet(${quoteLiteral(parquetPath)}))`;
  const replaced = [
    ...columns.map((col) => `b.${q(col.name)} AS ${q(col.name)}`),
    ...(opts.unmark ? [`CAST(NULL AS TIMESTAMPTZ) AS ${q(DELETED_AT_COLUMN)}`] : []),
  ];
  const replaces = replaced.length > 0;
  const apply = (target: string, parquetPath: string, where?: string) => ({
    stage: replaces
      ? `CREATE OR REPLACE TEMP TABLE ${staging} AS\n` +
        `SELECT t.* REPLACE (${replaced.join(', ')})\n` +
        `FROM ${target} AS t JOIN ${fileRows(parquetPath)} AS b\n` +
        `ON ${keyMatch}\nWHERE (t.${c} IS NULL OR t.${c} <= b.${c})${where ? ` AND ${where}` : ''}`
      : null,
    delete: replaces ? `DELETE FROM ${target} AS t USING ${staging} AS b WHERE ${keyMatch}` : null,
    // t.* keeps the target's column order, so the staged rows insert as they are.
    insert: replaces ? `INSERT INTO ${target} SELECT * FROM ${staging}` : null,
    // Rows the cursor never showed pgduck (a partition attached with its old rows, a restore): the
    // source guard saw the table rewritten, and this re-read is the only one that meets them.
    insertMissing: opts.insertMissing
      ? `INSERT INTO ${target} (${carried.map((col) => q(col.name)).join(', ')})\n` +
        `SELECT ${carried.map((col) => `b.${q(col.name)}`).join(', ')}\n` +
        `FROM ${fileRows(parquetPath)} AS b\n` +
        `WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${keyMatch})${opts.insertOnly ? ` AND ${opts.insertOnly}` : ''}`
      : null,
    drop: replaces ? `DROP TABLE IF EXISTS ${staging}` : null,
  });
  const probe = `SELECT 1 FROM ${from} WHERE ${columns.map((col) => `${q(col.name)} IS NOT NULL`).join(' OR ')} LIMIT 1`;
  return { read, positionIndexes, apply, probe, carried };
}

export const backfillStage: Stage = {
  name: 'backfill',
  reads: ['columns', 'sourceColumns', 'targetColumns', 'seq'],
  writes: ['backfillBytes'],
  postgres: true,
  describe(spec, inputs) {
    const { columns } = plannedColumns(spec, inputs);
    const byName = (n: string) => columns.find((c) => c.name === n)!;
    const filled = { name: '<backfilled column>', selectExpr: (c: string) => c, loadExpr: (c: string) => c, duckType: '<its type>' };
    const keyTypes = inputs.source?.keyTypes ?? spec.source.primaryKey.map((k) => `<type of ${k}>`);
    const sql = buildBackfillSql(spec, spec.source.primaryKey.map(byName), keyTypes, byName(spec.source.cursor), [filled]);
    const target = targetRef({ catalog: quoteIdent(catalogNameOf(inputs.duckdbPath)) }, spec.target);
    return {
      when: 'a backfill is pending: drift-check recorded columns to re-read for existing rows (added, retyped so their values may change, or every non-key column after the table was rewritten: its relfilenode moved), or an earlier run stopped during one',
      does: 're-reads key, cursor and those columns for every existing row, keyset on the primary key, one Parquet file per batch; replaces (DELETE+INSERT in one transaction, never UPDATE: DuckDB keeps an interval that compares equal) only target rows whose cursor is not newer; a rewrite that re-reads every column also inserts the rows whose key the target lacks (rows the cursor never showed, e.g. a partition attached with its old rows)',
      sql: {
        'probe (added columns)': sql.probe,
        read: sql.read(true),
        ...Object.fromEntries(
          Object.entries(
            sql.apply(
              target,
              backfillFilePath(inputs.parquetDir, spec.name, 0, 0, 0).replace(/0+\.0+\.0+\.parquet$/, '<batch>.<backfill>.<rows done>.parquet'),
            ),
          )
            .filter(([, text]) => text !== null)
            .map(([part, text]) => [`apply: ${part}`, text]),
        ),
      },
    };
  },
  async run(ctx: StageContext, batch) {
    const bytes = await runPendingBackfills(ctx, batch.columns, batch.sourceColumns, new Set(batch.targetColumns), batch.seq);
    if (bytes > 0) batch.backfillBytes = bytes;
  },
};

/**
 * Apply one backfill batch file (see BackfillSql.apply); returns the rows changed. `inTransaction`:
 * the caller holds a transaction already (replay: every file in one), so none is opened here.
 */
export async function applyBackfillFile(
  session: LakeSession,
  sql: BackfillSql,
  target: string,
  parquetPath: string,
  opts: { where?: string; inTransaction?: boolean } = {},
): Promise<number> {
  const steps = sql.apply(target, parquetPath, opts.where);
  const replace = async () => {
    if (steps.delete) await session.run(steps.delete);
    const inserted = steps.insert ? await session.all(steps.insert) : [];
    const added = steps.insertMissing ? await session.all(steps.insertMissing) : [];
    return Number(inserted[0]?.Count ?? 0) + Number(added[0]?.Count ?? 0);
  };
  if (steps.stage) await session.run(steps.stage);
  try {
    return await (opts.inTransaction ? replace() : session.transaction(replace));
  } finally {
    if (steps.drop) await session.run(steps.drop);
  }
}

/** Thrown when the source's types moved under a backfill batch: nothing of that batch is applied. */
export class BackfillInterrupted extends PgduckError {
  constructor(message: string) {
    // The next run re-reads the batch with the new types.
    super(message, { kind: 'transient', code: 'DRIFT_DURING_READ' });
    this.name = 'BackfillInterrupted';
  }
}

/**
 * Run every pending backfill of the pipeline to the end. `columns`/`source` are the batch's mapped
 * and catalog columns (the drift check has already made the target match them); `inTarget` names
 * the columns the target holds (under `freeze`, new source columns are not there). `seq` is the
 * batch whose drift check runs them: it names their history files (they apply before that batch).
 * Returns the bytes of the Parquet files written (the run's bytes count them: README "Logs").
 */
export async function runPendingBackfills(ctx: StageContext, columns: ColumnMapping[], source: PgColumn[], inTarget: Set<string>, seq = 0): Promise<number> {
  let bytes = 0;
  const pending = ctx.store.pendingBackfills(ctx.spec.name);
  // Its transactions are its own: the batches applied before this one are committed first (batch-transaction.ts).
  if (pending.length > 0) await batchTransaction(ctx).commit();
  for (const task of pending) bytes += await runBackfill(ctx, task, columns, source, inTarget, seq);
  return bytes;
}

/** One backfill to the end; returns the bytes of the files it wrote. */
async function runBackfill(
  ctx: StageContext,
  task: Backfill,
  columns: ColumnMapping[],
  source: PgColumn[],
  inTarget: Set<string>,
  seq: number,
): Promise<number> {
  const { spec, pg, lake, store, log } = ctx;
  const byName = (name: string) => columns.find((c) => c.name === name);
  const current = task.columns
    .map((tc) => source.find((s) => s.attnum === tc.attnum))
    .filter((s): s is PgColumn => s !== undefined && inTarget.has(s.name) && byName(s.name) !== undefined);
  const record = (detail: string) => {
    store.addSchemaEvent(spec.name, 'backfilled', detail);
    log.info({ pipeline: spec.name, backfill: task.id }, detail);
  };
  // A rewrite's re-read runs even with no column to fill (a table of key and cursor only, or its
  // columns dropped since): it also inserts the rows the target lacks (found by review: never recorded
  // for a key-and-cursor table, a partition attached with its old rows was never read).
  const names = current.length > 0 ? current.map((s) => `"${s.name}"`).join(', ') : 'key and cursor';
  if (current.length === 0 && task.reason !== 'rewritten') {
    store.finishBackfill(task.id);
    record(`backfill ${task.id} skipped: its columns (${task.columns.map((c) => `"${c.name}"`).join(', ')}) are gone from the source or the target`);
    return 0;
  }
  const keys = spec.source.primaryKey.map((k) => byName(k));
  const cursor = byName(spec.source.cursor);
  if (keys.some((k) => !k) || !cursor) {
    throw new PgduckError(`backfill ${task.id}: key or cursor column missing from the source`, { kind: 'needs-action', code: 'SOURCE_COLUMN_MISSING' });
  }
  const keyTypes = spec.source.primaryKey.map((k) => source.find((s) => s.name === k)!.declaredType);
  const mapped = current.map((s) => byName(s.name)!);
  // A rewrite that re-reads every column the target holds: rows the target lacks are inserted too. The
  // target's, not every mapped source column: under schema_evolution freeze a new source column is not
  // in the target, and compared with it no rewrite inserted anything (found by review).
  const carriedNames = new Set([...spec.source.primaryKey, spec.source.cursor, ...mapped.map((c) => c.name)]);
  const whole = task.reason === 'rewritten' && columns.filter((c) => inTarget.has(c.name)).every((c) => carriedNames.has(c.name));
  const sql = buildBackfillSql(spec, keys as ColumnMapping[], keyTypes, cursor, mapped, {
    insertMissing: whole,
    insertOnly: insertOnlyLiving(spec),
    unmark: inTarget.has(DELETED_AT_COLUMN),
  });
  const currentRefs = current.map((s) => ({ attnum: s.attnum, name: s.name }));

  if (task.reason === 'added' && task.position === null) {
    const probe = await readingSource(spec, () => pg.query({ text: sql.probe, rowMode: 'array' }));
    if (probe.rows.length === 0) {
      store.finishBackfill(task.id);
      record(`backfill ${task.id} of ${names} not needed: no existing row holds a value`);
      return 0;
    }
  }

  log.info({ pipeline: spec.name, backfill: task.id, columns: currentRefs.map((c) => c.name), from: task.position }, `backfilling ${names} from the source`);
  const watched = [...spec.source.primaryKey, spec.source.cursor, ...current.map((s) => s.name)].map((n) => source.find((s) => s.name === n)!);
  const carriedSource = sql.carried.map((c) => source.find((s) => s.attnum === c.attnum) as PgColumn);
  let position = task.position;
  let rows = task.rowsDone;
  let bytes = 0;
  // A progress bar while it re-reads the table (only a display: a failed estimate shows no total).
  const label = `${spec.name} backfill #${task.id}`;
  if (ctx.progress) ctx.progress.begin(label, { done: rows, estimate: await estimateRows(pg, spec.source.schema, spec.source.table).catch(() => null) });
  try {
    for (;;) {
      const res = await readingSource(spec, () => pg.query<WireRow>({ text: sql.read(position !== null), values: position ?? [], rowMode: 'array' }));
      if (res.rows.length > 0) {
        await assertTypesUnchanged(ctx, watched);
        // Named by the rows done before it: a batch re-read after a crash replaces its own file, a resumed backfill adds files.
        const file = backfillFilePath(ctx.parquetDir, spec.name, seq, task.id, rows);
        const metadata = encodeHistoryMetadata({
          pipeline: spec.name,
          kind: 'backfill',
          seq,
          backfill: { id: task.id, reason: task.reason, ...(whole ? { insertsMissing: true } : {}) },
          source: { table: `${spec.source.schema}.${spec.source.table}`, primaryKey: spec.source.primaryKey, cursor: spec.source.cursor },
          columns: carriedSource,
        });
        bytes += await writeParquetRows(file, sql.carried, res.rows, metadata);
        await applyBackfillFile(lake, sql, targetRef(lake, spec.target), file);
        const last = res.rows[res.rows.length - 1];
        position = sql.positionIndexes.map((i) => last[i] as string);
        rows += res.rows.length;
        store.advanceBackfill(task.id, position, res.rows.length, currentRefs);
        ctx.progress?.advance(label, res.rows.length);
        faultPoint('after-backfill-batch');
      }
      if (res.rows.length < spec.batchSize) break;
    }
  } finally {
    ctx.progress?.end(label);
  }
  store.finishBackfill(task.id);
  record(`backfill ${task.id} of ${names} in ${targetLabel(spec.target)} done: ${rows} existing rows re-read from the source`);
  return bytes;
}

/** The read used the mapping of `watched`: if one of their types changed meanwhile, its text may not fit that mapping. */
async function assertTypesUnchanged(ctx: StageContext, watched: PgColumn[]): Promise<void> {
  const now = await introspectShape(ctx.pg, ctx.spec.source.schema, ctx.spec.source.table);
  // Gone, not changed: retrying would find it gone again.
  if (!now) throw sourceTableMissing(ctx.spec);
  // By attnum: a type changed, or a name (a rename swap committed during the read binds the query's names to other columns).
  const changed = watched.filter((w) => {
    const n = now.columns.find((c) => c.attnum === w.attnum);
    return n?.declaredType !== w.declaredType || n?.name !== w.name;
  });
  if (changed.length > 0) {
    throw new BackfillInterrupted(
      `the source changed while a backfill batch was read (${changed.map((c) => `"${c.name}"`).join(', ')}): nothing of that batch was applied; the next run checks the drift and resumes the backfill`,
    );
  }
}
