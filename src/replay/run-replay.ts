/**
 * Execute a replay plan (replay-plan.ts) on an open DuckDB file. Reads only Parquet files; never
 * Postgres, never the state store.
 *
 * `replace` (rebuild): the table is built beside the old one, one transaction per file as the runner
 * applied them, then swapped in (DROP + RENAME in one transaction); an interruption leaves the old
 * table as it was (and the half-built one, which the next replay drops). `monotonic`: columns the
 * table lacks are added first (DDL commits on its own: DuckDB 1.5 mis-checks keys when ALTER and
 * DELETE + INSERT share a transaction), then every file in one transaction: all or nothing. A key is
 * deleted and inserted at most once in it (only its last batch file applies). A deletes file removes
 * or marks the keys gone from the source (applyDeletes).
 */
import { createProgressTableSql, readProgress, writeProgress } from '../duckdb/target-progress.js';
import { PgduckError } from '../errors/pgduck-error.js';
import type { LakeSession } from '../duckdb/lake.js';
import {
  addColumn,
  createTarget,
  DELETED_AT_COLUMN,
  describeTarget,
  keyOf,
  syncCurrentView,
  targetRef,
  targetSource,
  type TargetName,
} from '../duckdb/target-table.js';
import { applyParquet, buildUpsertSql, insertOnlyLiving } from '../stages/upsert.js';
import { applyBackfillFile, buildBackfillSql } from '../stages/backfill.js';
import { describeRecordedSource, recordedSourceIs, sourceRecord } from '../stages/target-lost.js';
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping } from '../schema/column.js';
import { ReplayRefused, type PlannedFile, type ReplayPlan } from './replay-plan.js';

export interface ReplayOutcome {
  files: number;
  batches: number;
  backfills: number;
  /** Deletes files (src/repair/deletes-file.ts). */
  deletes: number;
  /** Rows written by batch files (in `monotonic`, those that passed its filter), rows updated by backfill files. */
  rowsWritten: number;
  rowsUpdated: number;
  /** Rows deletes files removed, and marked (hard_delete_mode mark). */
  rowsRemoved: number;
  rowsMarked: number;
}

/** The table is replayed, a step after it failed: the caller must not say the table was left as it was. */
export class ReplayIncomplete extends PgduckError {
  constructor(message: string, options: { cause: unknown }) {
    super(message, { kind: 'needs-action', code: 'REPLAY_INCOMPLETE', cause: options.cause });
    this.name = 'ReplayIncomplete';
  }
}

type Spec = Pick<PipelineSpec, 'name' | 'source' | 'target'>;

const LATEST = quoteIdent('pgduck_replay_latest');
const STAGING = quoteIdent('pgduck_batch');

export async function runReplay(session: LakeSession, spec: Spec, plan: ReplayPlan, onFile?: (done: number, total: number) => void): Promise<ReplayOutcome> {
  const outcome: ReplayOutcome = { files: 0, batches: 0, backfills: 0, deletes: 0, rowsWritten: 0, rowsUpdated: 0, rowsRemoved: 0, rowsMarked: 0 };
  const count = (f: PlannedFile, rows: number) => {
    if (f.file.kind === 'batch') {
      outcome.batches++;
      outcome.rowsWritten += rows;
    } else if (f.file.kind === 'deletes') {
      outcome.deletes++;
      if (f.file.meta?.deletes?.mode === 'mark') outcome.rowsMarked += rows;
      else outcome.rowsRemoved += rows;
    } else {
      outcome.backfills++;
      outcome.rowsUpdated += rows;
    }
    outcome.files++;
    onFile?.(outcome.files, plan.files.length);
  };

  // The table and its temporary copy, both in the pipeline's DuckDB schema.
  const at = (table: string): TargetName => ({ schema: spec.target.schema, table });
  if (plan.mode === 'replace') {
    const built = at(plan.buildAs ?? plan.table);
    if (plan.buildAs) await freshBuildTable(session, at(plan.buildAs), plan, spec);
    const unmark = await hasMarkColumn(session, built);
    for (const f of plan.files) {
      const columns = asMappings(f);
      const rows =
        f.file.kind === 'batch'
          ? await applyParquet(
              session,
              built,
              f.file.path,
              columns,
              spec.source.primaryKey,
              spec.source.cursor,
              'replace',
              undefined,
              insertOnlyLiving(spec),
            ).catch(fileFailed(f))
          : f.file.kind === 'deletes'
            ? await session.transaction(() => applyDeletes(session, built, f, spec, null)).catch(fileFailed(f))
            : await updateFrom(session, built, f, columns, spec, null, unmark).catch(fileFailed(f));
      count(f, rows);
    }
  } else {
    const table = at(plan.buildAs ?? plan.table);
    if (plan.buildAs) await freshBuildTable(session, at(plan.buildAs), plan, spec);
    for (const c of plan.add) await addColumn(session, at(plan.table), c);
    const unmark = await hasMarkColumn(session, table);
    await buildLatest(session, plan, spec.source.primaryKey);
    const toOrder = Math.max(...plan.files.map((f) => f.order));
    try {
      await session.transaction(async () => {
        for (const f of plan.files) {
          const columns = asMappings(f);
          const rows =
            f.file.kind === 'batch'
              ? await upsertLatest(session, table, f, columns, spec, toOrder).catch(fileFailed(f))
              : f.file.kind === 'deletes'
                ? await applyDeletes(session, table, f, spec, toOrder).catch(fileFailed(f))
                : await updateFrom(session, table, f, columns, spec, toOrder, unmark).catch(fileFailed(f));
          count(f, rows);
        }
      });
    } finally {
      await session.run(`DROP TABLE IF EXISTS ${LATEST}`).catch(() => {});
      await session.run(`DROP TABLE IF EXISTS ${STAGING}`).catch(() => {});
    }
  }

  // hard_delete_mode switched back to remove since some deletes files marked rows: those rows go, as the
  // runner's drift check removed them from the synced table (found by review: the rebuilt table kept them).
  if (plan.removeMarked) {
    const marked = await session.all(
      `DELETE FROM ${targetRef(session, at(plan.buildAs ?? plan.table))} WHERE ${quoteIdent(DELETED_AT_COLUMN)} IS NOT NULL RETURNING 1 AS gone`,
    );
    outcome.rowsRemoved += marked.length;
    outcome.rowsMarked = Math.max(0, outcome.rowsMarked - marked.length);
  }
  if (plan.buildAs) {
    const built = at(plan.buildAs);
    await session.transaction(async () => {
      await session.run(`DROP TABLE IF EXISTS ${targetRef(session, at(plan.table))}`);
      await session.run(`ALTER TABLE ${targetRef(session, built)} RENAME TO ${quoteIdent(plan.table)}`);
    });
  }
  // How far the table now is, in the file (src/duckdb/target-progress.ts): a run compares it with its checkpoint.
  // A rebuild is as far as its newest file; a replay onto the table (monotonic) changes only rows older
  // than its files, so it never lowers what the table records (found by review: a replay of batches
  // 1–2 onto a synced table made the next run bootstrap again).
  if (plan.files.length > 0) {
    await session.runOnce(createProgressTableSql(session.catalog));
    const newest = Math.max(...plan.files.map((f) => f.file.seq));
    const held = plan.mode === 'replace' ? null : await readProgress(session, at(plan.table));
    if (held === null || held < newest) await writeProgress(session, at(plan.table), newest);
  }
  // The view follows the pipeline file, as the runner keeps it (drift-check): created for soft_delete, dropped without it.
  await syncCurrentView(session, at(plan.table), spec.source.softDelete).catch((err: Error) => {
    throw new ReplayIncomplete(
      `${plan.table} was replayed, but its view ${plan.table}_current could not be brought in line with the pipeline file: ${err.message.split('\n')[0]}`,
      { cause: err },
    );
  });
  return outcome;
}

/** Planned columns as the mappings applyParquet and the backfill take: the table's name, the file's expression. */
function asMappings(f: PlannedFile): ColumnMapping[] {
  return f.columns.map((c) => {
    const original = f.file.columns.find((fc) => fc.parquetName === c.parquetName)!.mapping;
    return { ...original, name: c.target, loadExpr: () => c.expr };
  });
}

function keyMatch(keys: string[], a: string, b: string): string {
  return keys.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');
}

/**
 * `monotonic`: for every key in the files from range.from on (those after --to too), the place of
 * the last batch file holding it and of the last file of any kind holding it.
 */
/** Whether the table has hard_delete_mode mark's column (read once per replay, not per file). */
async function hasMarkColumn(session: LakeSession, table: TargetName): Promise<boolean> {
  return (await describeTarget(session, table))?.some((c) => c.name === DELETED_AT_COLUMN) ?? false;
}

/**
 * The table a rebuild is built in, beside the target, empty. One left by an interrupted replay of this
 * pipeline is dropped; a table of that name holding another source's rows is not (found by review: it
 * was another pipeline's target, dropped by this replay; pipeline files may no longer name it).
 */
async function freshBuildTable(session: LakeSession, build: TargetName, plan: ReplayPlan, spec: Spec): Promise<void> {
  const owner = await targetSource(session, build);
  if (owner !== null && !recordedSourceIs(owner, spec, null).same) {
    throw new ReplayRefused(
      `the table ${build.table}, where the rebuild is made, exists and holds rows synced from ${describeRecordedSource(owner)}: it is not dropped; rename it, then replay again`,
    );
  }
  await session.run(`DROP TABLE IF EXISTS ${targetRef(session, build)}`);
  await createTarget(session, build, plan.create ?? [], keyOf(spec), sourceRecord(spec, null));
}

async function buildLatest(session: LakeSession, plan: ReplayPlan, keys: string[]): Promise<void> {
  const all = quoteIdent('pgduck_replay_keys');
  await session.run(`DROP TABLE IF EXISTS ${all}`);
  try {
    let created = false;
    for (const f of plan.keyFiles) {
      const exprs = keys.map((k) => `${f.columns.find((c) => c.target === k)!.expr} AS ${quoteIdent(k)}`);
      // A rewrite re-read that inserted the rows the table lacked (insertsMissing) brought its keys back, as a batch does.
      const revives = f.file.kind === 'backfill' && f.file.meta?.backfill?.insertsMissing === true;
      const select = `SELECT ${exprs.join(', ')}, ${f.order}::BIGINT AS ord, ${f.file.kind === 'batch'} AS batch, ${revives} AS revives FROM read_parquet(${quoteLiteral(f.file.path)})`;
      await session.run(created ? `INSERT INTO ${all} ${select}` : `CREATE TEMP TABLE ${all} AS ${select}`).catch(fileFailed(f));
      created = true;
    }
    await session.run(
      `CREATE OR REPLACE TEMP TABLE ${LATEST} AS SELECT ${keys.map(quoteIdent).join(', ')}, max(ord) FILTER (WHERE batch) AS batch_ord, ` +
        `max(ord) FILTER (WHERE revives) AS revive_ord, max(ord) AS touch_ord FROM ${all} GROUP BY ALL`,
    );
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${all}`);
  }
}

/** `monotonic`, a batch file: the rows whose last batch is this file and whose later files all lie in the range; never over a newer cursor. */
async function upsertLatest(session: LakeSession, table: TargetName, f: PlannedFile, columns: ColumnMapping[], spec: Spec, toOrder: number): Promise<number> {
  const keys = spec.source.primaryKey;
  // Not a key a later rewrite re-read inserted again, while the table holds it: that re-read holds its newer
  // version (its cursor may be older). A key the table lacks is applied: a monotonic replay's re-read only
  // fills rows the table holds (found by the review of this change: a range replay lost every row re-read).
  const only =
    `EXISTS (SELECT 1 FROM ${LATEST} AS l WHERE ${keyMatch(keys, 'l', 'b')} AND l.batch_ord = ${f.order} ` +
    `AND (l.revive_ord IS NULL OR l.revive_ord < ${f.order} OR NOT EXISTS (SELECT 1 FROM ${targetRef(session, table)} AS t WHERE ${keyMatch(keys, 't', 'b')})) ` +
    `AND l.touch_ord <= ${toOrder})`;
  const sql = buildUpsertSql(targetRef(session, table), STAGING, f.file.path, columns, keys, spec.source.cursor, 'monotonic', only, insertOnlyLiving(spec));
  await session.run(sql.load!);
  await session.run(sql.delete);
  const inserted = await session.all(sql.insert);
  return Number(inserted[0]?.Count ?? 0);
}

/**
 * A backfill batch: its columns set on the rows the table holds, with the backfill's own DELETE + INSERT (never
 * over a newer cursor); in `monotonic` (toOrder given) only on rows whose last batch came before it
 * and whose later files all lie in the range.
 */
async function updateFrom(
  session: LakeSession,
  table: TargetName,
  f: PlannedFile,
  columns: ColumnMapping[],
  spec: Spec,
  toOrder: number | null,
  /** The table has hard_delete_mode mark's column: the rows a re-read holds were alive, their mark goes (as the run did, backfill.ts). */
  unmark: boolean,
): Promise<number> {
  const keys = spec.source.primaryKey;
  const byName = (n: string) => columns.find((c) => c.name === n)!;
  const filled = columns.filter((c) => !keys.includes(c.name) && c.name !== spec.source.cursor);
  // A rebuild inserts what the run inserted from a rewrite backfill (rows its key the table lacked); a
  // monotonic replay onto a table as it is only fills rows it holds, as before.
  const insertMissing = toOrder === null && f.file.meta?.backfill?.insertsMissing === true;
  // A rewrite's file of a key-and-cursor table fills nothing: it only inserts the missing rows.
  if (filled.length === 0 && !insertMissing) return 0;
  const sql = buildBackfillSql(spec as PipelineSpec, keys.map(byName), [], byName(spec.source.cursor), filled, {
    insertMissing,
    insertOnly: insertOnlyLiving(spec as PipelineSpec),
    unmark,
  });
  const where =
    toOrder === null
      ? undefined
      : `EXISTS (SELECT 1 FROM ${LATEST} AS l WHERE ${keyMatch(keys, 'l', 'b')} AND (l.batch_ord IS NULL OR l.batch_ord < ${f.order}) AND l.touch_ord <= ${toOrder})`;
  // In monotonic mode every file applies inside one transaction the caller holds.
  return applyBackfillFile(session, sql, targetRef(session, table), f.file.path, { where, inTransaction: toOrder !== null });
}

/**
 * A deletes file (src/repair/deletes-file.ts): its keys removed from the table, or under its `mark`
 * mode their `_pgduck_deleted_at` set to the file's time where it is NULL (a row marked before keeps
 * its first time), as the reconcile that wrote it did. In `replace` every file is applied in order, so
 * a later batch holding a key brings the row back (unmarked). In `monotonic` (toOrder given) only keys
 * whose last batch file (or rewrite re-read that inserted missing rows) came before this one and whose
 * later files all lie in the range, and never a row whose cursor is newer than the one the row had
 * when it was found gone.
 */
async function applyDeletes(session: LakeSession, table: TargetName, f: PlannedFile, spec: Spec, toOrder: number | null): Promise<number> {
  const keys = spec.source.primaryKey;
  const cursor = spec.source.cursor;
  const select = f.columns.map((c) => `${c.expr} AS ${quoteIdent(c.target)}`).join(', ');
  const gone = `(SELECT ${select} FROM read_parquet(${quoteLiteral(f.file.path)})) AS b`;
  const where = [keyMatch(keys, 't', 'b')];
  if (toOrder !== null) {
    where.push(`t.${quoteIdent(cursor)} <= b.${quoteIdent(cursor)}`);
    // Nor a key a later rewrite re-read inserted again (found by review: a key reconciled away, back with
    // an old cursor and re-read after a VACUUM FULL, was removed from the synced table by a replay onto it).
    where.push(
      `EXISTS (SELECT 1 FROM ${LATEST} AS l WHERE ${keyMatch(keys, 'l', 'b')} AND (l.batch_ord IS NULL OR l.batch_ord < ${f.order}) ` +
        `AND (l.revive_ord IS NULL OR l.revive_ord < ${f.order}) AND l.touch_ord <= ${toOrder})`,
    );
  }
  const ref = targetRef(session, table);
  const deletes = f.file.meta?.deletes;
  if (deletes?.mode === 'mark') {
    const mark = quoteIdent(DELETED_AT_COLUMN);
    const at = `CAST(${quoteLiteral(deletes.at)} AS TIMESTAMPTZ)`;
    const res = await session.all(`UPDATE ${ref} AS t SET ${mark} = ${at} FROM ${gone} WHERE ${where.join(' AND ')} AND t.${mark} IS NULL`);
    let marked = Number(res[0]?.Count ?? 0);
    // A rebuild also inserts, marked, the rows of a whole-row deletes file it lacks: rows the pass it
    // starts from never read (deleted from the source before it), which the synced table still held
    // when the reconcile marked them (found by review: such a row was missing from the rebuild).
    if (toOrder === null && deletes.rows === true) {
      const names = f.columns.map((c) => quoteIdent(c.target));
      const inserted = await session.all(
        `INSERT INTO ${ref} (${names.join(', ')}, ${mark}) SELECT ${names.map((n) => `b.${n}`).join(', ')}, ${at} FROM ${gone} ` +
          `WHERE NOT EXISTS (SELECT 1 FROM ${ref} AS t WHERE ${keyMatch(keys, 't', 'b')})`,
      );
      marked += Number(inserted[0]?.Count ?? 0);
    }
    return marked;
  }
  const res = await session.all(`DELETE FROM ${ref} AS t USING ${gone} WHERE ${where.join(' AND ')}`);
  return Number(res[0]?.Count ?? 0);
}

function fileFailed(f: PlannedFile) {
  return (err: unknown): never => {
    throw new Error(`replaying ${f.file.path} failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  };
}
