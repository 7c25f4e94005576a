/**
 * drift-check: before a batch lands, make the DuckDB table able to hold it (rule 7).
 *
 * Compares the batch's source columns with the DuckDB table and with the source as the last drift
 * check saw it (a snapshot in the state store: attnum, name, base type, place in the primary key).
 * Columns are matched by attnum, so a rename is a rename, and a column dropped then added again under
 * the same name is a new column. By the pipeline's `schema_evolution` policy:
 *
 *   evolve  add new columns (recording a backfill for the backfill step), widen widened types in place
 *           (a key column by rebuilding the table), rename renamed columns, keep dropped ones
 *           (NULL from then on)
 *   freeze  keep the target's columns and types; new source columns are left out of the load
 *   fail    stop on any drift
 *
 * Incompatible changes (a type the target cannot hold, a changed primary key, a renamed column whose
 * new name is taken) stop this pipeline, whatever the policy, with a message that says what changed
 * and how to recover; nothing is altered and the checkpoint does not move. Every change is logged and
 * recorded in the state store (`pgduck status`), once.
 *
 * All checks run before any DDL; each DDL statement then commits on its own (DuckDB 1.5 mis-checks keys
 * when ALTER and DELETE+INSERT share a transaction), after the run's open transaction (the batches
 * applied before this one, batch-transaction.ts) is committed. Repeatable: every change is conditional on the
 * target's current shape, and backfills are recorded before the DDL that needs them.
 *
 * Under source.columns, `sourceColumns` is still every source column (the snapshot keeps them all, so
 * a rename of an excluded column is seen by attnum) and `columns` only the selected ones: a column the
 * file leaves out is never added, and its drops and type changes are no drift (plan-drift.ts).
 *
 * What changes is decided by planDrift (src/schema/plan-drift.ts, pure); this stage reads its inputs
 * and applies its plan. The backfills it records are run by the next step of the plan (backfill.ts).
 */
import { alterUsing } from '../schema/type-change.js';
import { planDrift, type DriftEvent, type DriftPlan } from '../schema/plan-drift.js';
import { SchemaDriftError } from '../schema/schema-drift-error.js';
import { markColumnClash } from '../schema/deleted-at-column.js';
import { quoteIdent } from '../sql/identifier.js';
import { catalogNameOf } from '../duckdb/catalog-name.js';
import { introspectShape } from '../postgres/introspect-table.js';
import { sourceTableMissing } from './source-table-missing.js';
import { checkpointHasProgress, recordedSourceIs, sourceRecord, targetBehind, targetMissing, targetTaken } from './target-lost.js';
import { readProgress } from '../duckdb/target-progress.js';
import { primaryKeyAttnums, targetFingerprint } from './target-check.js';
import {
  addColumn,
  alterColumnType,
  createCurrentView,
  currentViewColumns,
  DELETED_AT_COLUMN,
  ensureDeletedAtColumn,
  syncCurrentView,
  createTarget,
  describeTarget,
  describeTargetAndSource,
  dropColumn,
  rebuildTarget,
  renameColumns,
  keyClause,
  keyComments,
  keyOf,
  targetPrimaryKey,
  targetRef,
  schemaRef,
  type TargetName,
  claimTarget,
} from '../duckdb/target-table.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { RunMemory } from './run-memory.js';
import { plannedColumns } from './plan-step.js';
import type { BatchState, Stage, StageContext } from './stage.js';
import { batchTransaction } from './batch-transaction.js';

// Re-exported: callers knew them from here before the planner moved to src/schema/.
export { planDrift, SchemaDriftError };
export type { DriftInput, DriftEvent, DriftPlan } from '../schema/plan-drift.js';

/** DuckDB's own spelling of a type (`TIMESTAMPTZ` → `TIMESTAMP WITH TIME ZONE`), asked of DuckDB itself once per run. */
async function canonicalType(session: LakeSession, memory: RunMemory, type: string): Promise<string> {
  await canonicalTypes(session, memory, [type]);
  return memory.canonicalTypes.get(type) as string;
}

/** The spellings of every type not asked yet, in one query (a query per type was a DuckDB round trip per column per run). */
async function canonicalTypes(session: LakeSession, memory: RunMemory, types: string[]): Promise<void> {
  const missing = [...new Set(types.filter((t) => !memory.canonicalTypes.has(t)))];
  if (missing.length === 0) return;
  const rows = await session.all(`SELECT ${missing.map((t, i) => `typeof(CAST(NULL AS ${t})) AS t${i}`).join(', ')}`);
  missing.forEach((t, i) => memory.canonicalTypes.set(t, String(rows[0][`t${i}`])));
}

/** The target's shape (canonical types), from the run's memory when this run has read it already (see RunMemory.target). */
async function targetShape(session: LakeSession, memory: RunMemory, table: TargetName): Promise<RunMemory['target']> {
  if (memory.target) return memory.target;
  const described = await describeTargetAndSource(session, table);
  if (!described) return null;
  const { columns } = described;
  await canonicalTypes(
    session,
    memory,
    columns.map((t) => t.type),
  );
  const shape = {
    columns: await Promise.all(columns.map(async (t) => ({ name: t.name, type: await canonicalType(session, memory, t.type) }))),
    primaryKey: await targetPrimaryKey(session, table),
    recordedSource: described.source,
    rowSlots: described.rowSlots,
  };
  memory.target = shape;
  return shape;
}

export const driftCheckStage: Stage = {
  name: 'drift-check',
  reads: ['sourceColumns', 'columns', 'seq', 'targetUnchanged'],
  writes: ['loadColumns', 'targetColumns'],
  postgres: true,
  describe(spec, inputs) {
    // How a person names the file's catalog (the DuckDB CLI names it after the file's stem); the runner attaches it under an alias.
    const target = targetRef({ catalog: quoteIdent(catalogNameOf(inputs.duckdbPath)) }, spec.target);
    const { columns, unknown } = plannedColumns(spec, inputs);
    const key = keyOf(spec);
    const defs = [...columns.map((c) => `${quoteIdent(c.name)} ${c.duckType}`), ...keyClause(key)];
    // Outside `main`, the schema is created first (createTarget).
    const schema =
      spec.target.schema === 'main' ? '' : `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(catalogNameOf(inputs.duckdbPath))}.${schemaRef(spec.target.schema)};\n`;
    const comments = keyComments(target, key).map((c) => `;\n${c}`);
    const create = `${schema}CREATE TABLE IF NOT EXISTS ${target} (\n  ${unknown === null ? '' : `${unknown},\n  `}${defs.join(',\n  ')}\n)${comments.join('')}`;
    return {
      compares: 'source columns (by attnum) and primary key with the DuckDB table before each batch',
      policy: spec.schemaEvolution,
      records: 'a backfill (for the backfill step) when columns are added or retyped in a way existing rows must be re-read for',
      sql: { 'first run': create, 'new source column': `ALTER TABLE ${target} ADD COLUMN <name> <type>` },
    };
  },
  async run(ctx: StageContext, batch: BatchState) {
    // An idle batch whose target check matched (target-check.ts): nothing this check looks at changed since it last ran.
    if (batch.targetUnchanged) return;
    const { spec, lake, store, log, memory } = ctx;
    const table = spec.target;
    const record = (e: DriftEvent) => {
      store.addSchemaEvent(spec.name, e.kind, e.detail);
      log.warn({ pipeline: spec.name, drift: e.kind }, e.detail);
    };

    // The batch was read with a mapping made from the catalog just before: a type changed since then may
    // have given text that mapping misreads. Refuse the batch (nothing loaded) rather than guess.
    // (A domain's base type cannot change, so the declared type is enough; one light catalog query.)
    // A later batch of the bootstrap stream was read under the lock its first batch was checked in (run-memory.ts).
    const reuse = batch.stream && !batch.stream.first ? memory.streamSourceShape : null;
    const shape = reuse ?? (await introspectShape(ctx.pg, spec.source.schema, spec.source.table));
    // Dropped since this batch was read: load nothing (a snapshot of no columns would lose the key positions).
    if (!shape) throw sourceTableMissing(spec);
    // Only the columns read matter: an excluded column (source.columns) may change type at any time.
    const read = new Set(batch.columns.map((c) => c.attnum));
    // A name too: the batch's query named the columns as the catalog read before it said, so a rename swap
    // committed in between (a TO tmp, b TO a, tmp TO b) read each column's values under the other's name.
    const moved = batch.sourceColumns.flatMap((c) => {
      if (!read.has(c.attnum)) return [];
      const n = shape.columns.find((x) => x.attnum === c.attnum);
      if (n === undefined) return [];
      if (n.declaredType !== c.declaredType) return [`"${c.name}" changed type`];
      return n.name !== c.name ? [`"${c.name}" is now "${n.name}"`] : [];
    });
    if (moved.length > 0) {
      throw new SchemaDriftError(
        `the source changed while this batch was read (${moved.join(', ')}): nothing was loaded and the checkpoint did not move; the next run reads it again as the table is then`,
        { kind: 'transient', code: 'DRIFT_DURING_READ' },
      );
    }
    if (batch.stream?.first) memory.streamSourceShape = shape;
    // Key positions by attnum: the names of the batch (a key column renamed after the read is the same column).
    const keyAttnums = primaryKeyAttnums(shape);
    const sourcePrimaryKey = shape.primaryKey ? keyAttnums.map((a) => batch.sourceColumns.find((c) => c.attnum === a)?.name ?? `#${a}`) : null;
    const previous = store.sourceColumns(spec.name);
    const snapshot = () => {
      const now = batch.sourceColumns.map((c) => ({
        attnum: c.attnum,
        name: c.name,
        pgType: c.declaredType,
        baseType: c.baseType,
        pkPosition: keyAttnums.includes(c.attnum) ? keyAttnums.indexOf(c.attnum) + 1 : null,
      }));
      // Most batches see no drift: write only when something changed.
      if (JSON.stringify(now) !== JSON.stringify(previous)) store.saveSourceColumns(spec.name, now);
      // What the target now agrees with, for the next idle run (target-check.ts); recorded once the checks and DDL are done.
      if (ctx.duckdbPath !== undefined) {
        const checked = targetFingerprint({
          spec,
          duckdbPath: ctx.duckdbPath,
          generation: ctx.generation,
          sourceColumns: batch.sourceColumns,
          primaryKey: keyAttnums,
        });
        if (store.targetCheck(spec.name) !== checked) store.saveTargetCheck(spec.name, checked);
      }
    };

    // The mark column is pgduck's own: a source column of that name would be overwritten by reconcile's marks, or hide rows from verify.
    const sourceHasMarkColumn = batch.sourceColumns.some((c) => c.name === DELETED_AT_COLUMN);
    const clash = markColumnClash(spec, batch.sourceColumns);
    if (clash) {
      throw new SchemaDriftError(
        `${clash.message}: nothing was loaded and the checkpoint did not move. Rename that column in the source, or set source.hard_delete_mode: remove`,
        { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: clash.fix },
      );
    }

    // The batches applied before this one are committed before any DDL or write of this step (DuckDB 1.5
    // mis-checks keys when ALTER and DELETE + INSERT share a transaction; this session is not the transaction's).
    const commitApplied = () => batchTransaction(ctx).commit();
    const current = await targetShape(lake, memory, table);
    if (!current) {
      // Rows of this generation were loaded, but not into this (absent) table: continuing would load only
      // the rows changed since (target-lost.ts). runPipeline starts the run over as a bootstrap.
      const checkpoint = store.get(spec.name);
      if (checkpoint?.generation === ctx.generation && checkpointHasProgress(checkpoint)) throw targetMissing(spec, ctx.duckdbPath ?? 'the DuckDB file');
      await commitApplied();
      const marking = spec.source.hardDeleteMode === 'mark';
      const created = batch.columns.map((c) => ({ name: c.name, type: c.duckType }));
      // hard_delete_mode mark: the mark column from the start, last, so the `_current` view can hide marked rows.
      if (marking) created.push({ name: DELETED_AT_COLUMN, type: 'TIMESTAMPTZ' });
      await createTarget(lake, table, created, keyOf(spec), sourceRecord(spec, store.sourceIdentity(spec.name)));
      const nullColumns = currentViewColumns(spec.source.softDelete, created, sourceHasMarkColumn);
      if (nullColumns.length > 0) await createCurrentView(lake, table, nullColumns);
      // Made as the pipeline file says now: the once-per-run check below has nothing to change (and
      // committing the batches applied before the next one for it would cut the bootstrap's first row group).
      memory.currentViewChecked = true;
      // A new table is filled with every column of every row: older backfills have nothing left to do.
      for (const b of store.pendingBackfills(spec.name)) store.finishBackfill(b.id);
      snapshot();
      batch.loadColumns = batch.columns;
      batch.targetColumns = batch.columns.map((c) => c.name);
      return;
    }

    // Once per run: soft_delete may have been added to (or removed from) the pipeline file since the table was made.
    const checkView = !memory.currentViewChecked;
    if (checkView) {
      // The table that exists must be this source's. Another source's rows would stay beside this one's (a
      // bootstrap upserts by key, it removes nothing): two pipelines that swapped their target.table each
      // merged into the other's table; and on every run, not only a bootstrap's: tables swapped by hand
      // in DuckDB, or another environment's file copied in, took this source's rows (found by review).
      const checkpoint = store.get(spec.name);
      const loaded = checkpoint?.generation === ctx.generation && checkpointHasProgress(checkpoint);
      // Read with the table's columns just now (targetShape): one catalog query less per run.
      const owner = current.recordedSource;
      const place = store.sourceIdentity(spec.name);
      const recorded = owner === null ? null : recordedSourceIs(owner, spec, place, loaded);
      if (owner !== null && !recorded?.same) throw targetTaken(spec, owner, loaded);
      // Unclaimed, recorded by an older pgduck (`schema.table`, or without the database or the oid), or
      // under the source's former name: recorded whole now.
      if (!recorded?.complete) await claimTarget(lake, table, sourceRecord(spec, place));
      // The file's own record of the last batch a run committed into the table (target-progress.ts):
      // behind the checkpoint's, the file was put back to an older copy; the run starts over (target-lost.ts).
      const expected = loaded ? (checkpoint?.targetBatches ?? null) : null;
      if (expected !== null && ctx.duckdbPath !== undefined) {
        const held = await readProgress(lake, table);
        if (held === null || held < expected) throw targetBehind(spec, ctx.duckdbPath, held, expected);
      }
      await commitApplied();
      memory.currentViewChecked = true;
      // hard_delete_mode may have been switched to mark since the table was made: the column comes first, the view hides by it.
      if (spec.source.hardDeleteMode === 'mark' && (await ensureDeletedAtColumn(lake, table))) memory.target = null;
      // … or switched back to remove: rows marked then go now, as reconcile would have removed them.
      if (spec.source.hardDeleteMode === 'remove' && !sourceHasMarkColumn && current.columns.some((c) => c.name === DELETED_AT_COLUMN)) {
        await lake.run(`DELETE FROM ${targetRef(lake, table)} WHERE ${quoteIdent(DELETED_AT_COLUMN)} IS NOT NULL`);
      }
    }

    await canonicalTypes(
      lake,
      memory,
      batch.columns.map((c) => c.duckType),
    );
    const mapped = await Promise.all(batch.columns.map(async (c) => ({ ...c, canonical: await canonicalType(lake, memory, c.duckType) })));
    const target = current.columns;
    let plan: DriftPlan;
    try {
      plan = planDrift({
        spec,
        source: batch.sourceColumns,
        mapped,
        sourcePrimaryKey,
        previous,
        target,
        targetPrimaryKey: current.primaryKey?.columns ?? null,
      });
    } catch (err) {
      // A refusal repeats on every run until someone acts: record it once.
      const last = store.lastSchemaEvent(spec.name);
      const detail = (err as Error).message;
      if (last?.kind !== 'refused' || last.detail !== detail) store.addSchemaEvent(spec.name, 'refused', detail);
      log.error({ pipeline: spec.name, drift: 'refused' }, detail);
      throw err;
    }

    if (plan.backfills.length + plan.renames.length + plan.replaced.length + plan.added.length + plan.widened.length > 0) await commitApplied();
    // Backfills first (a crash after the DDL must still find them), skipping columns already pending.
    const pending = new Set(store.pendingBackfills(spec.name).flatMap((b) => b.columns.map((c) => c.attnum)));
    for (const b of plan.backfills) {
      const cols = b.columns.filter((c) => !pending.has(c.attnum));
      if (cols.length > 0) store.addBackfill(spec.name, b.reason, cols);
    }
    if (plan.renames.length + plan.replaced.length + plan.added.length + plan.widened.length > 0) memory.target = null;
    await renameColumns(lake, table, plan.renames);
    for (const name of plan.replaced) await dropColumn(lake, table, name);
    for (const col of plan.added) await addColumn(lake, table, { name: col.name, type: col.duckType });
    const keyWidened = plan.widened.filter((w) => w.key);
    for (const w of plan.widened.filter((x) => !x.key)) {
      await alterColumnType(lake, table, w.column.name, w.to, alterUsing(quoteIdent(w.column.name), w.from, w.to));
    }
    // target.key_index changed since the table was made: DuckDB can neither add nor drop a PRIMARY KEY, so the table is copied once.
    const key = keyOf(spec);
    const reindex = current.primaryKey !== null && current.primaryKey.index !== key.index;
    if (reindex) await commitApplied();
    if (keyWidened.length > 0 || reindex) {
      const shape = (await describeTarget(lake, table)) ?? [];
      const columns = shape.map((t) => {
        const w = keyWidened.find((x) => x.column.name === t.name);
        return w
          ? { name: t.name, type: w.to, using: alterUsing(quoteIdent(t.name), w.from, w.to) }
          : { name: t.name, type: t.type, using: quoteIdent(t.name) };
      });
      await rebuildTarget(lake, table, columns, key);
      memory.target = null;
      if (reindex) {
        record({
          kind: 'key_index',
          detail: key.index
            ? `${spec.target.table}: its key (${key.columns.join(', ')}) is now the table's PRIMARY KEY (target.key_index: true); the table was copied once`
            : `${spec.target.table}: its key (${key.columns.join(', ')}) is now recorded in column comments, with no PRIMARY KEY index (target.key_index: false); the table was copied once`,
        });
      }
    }
    for (const e of plan.events) record(e);
    snapshot();

    // What the target holds now: the backfill step fills only these (under freeze, new source columns are not there).
    batch.targetColumns = [...new Set([...target.map((t) => plan.renames.find((r) => r.from === t.name)?.to ?? t.name), ...plan.added.map((a) => a.name)])];
    batch.loadColumns = plan.load;

    if (checkView) {
      // After the DDL: the soft_delete column renamed with the file names the new name, which the table has
      // only once the rename is applied (found by review: the view, made before it, failed every run).
      await syncCurrentView(lake, table, spec.source.softDelete, sourceHasMarkColumn);
      // soft_delete_mode may have been switched to remove since the rows were loaded: tombstones kept then go now.
      if (spec.source.softDelete && spec.source.softDeleteMode === 'remove' && batch.targetColumns.includes(spec.source.softDelete)) {
        await lake.run(`DELETE FROM ${targetRef(lake, table)} WHERE ${quoteIdent(spec.source.softDelete)} IS NOT NULL`);
      }
    }
  },
};
