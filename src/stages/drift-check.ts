/**
 * drift-check: before a batch lands, make the DuckDB table able to hold it (rule 7).
 *
 * Compares the batch's source columns with the DuckDB table and with the source as the last drift
 * check saw it (a snapshot in the state store: attnum, name, base type, place in the primary key).
 * Columns are matched by attnum, so a rename is a rename, and a column dropped then added again under
 * the same name is a new column. By the pipeline's `schema_evolution` policy:
 *
 *   evolve  add new columns (then backfill them: see backfill.ts), widen widened types in place
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
 * when ALTER and DELETE+INSERT share a transaction). Repeatable: every change is conditional on the
 * target's current shape, and backfills are recorded before the DDL that needs them.
 */
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import { alterUsing, canWiden, isWidening, keepsText } from '../schema/type-change.js';
import { quoteIdent } from '../sql/identifier.js';
import { introspectShape } from '../postgres/introspect-table.js';
import {
  addColumn,
  alterColumnType,
  createCurrentView,
  syncCurrentView,
  createTarget,
  describeTarget,
  dropColumn,
  rebuildTarget,
  renameColumns,
  targetPrimaryKey,
  type TargetColumn,
} from '../duckdb/target-table.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { Backfill, SourceColumnRecord } from '../state/checkpoint-store.js';
import { runPendingBackfills } from './backfill.js';
import type { BatchState, Stage, StageContext } from './stage.js';
import { PgduckError, type PgduckErrorDetails } from '../errors/pgduck-error.js';


/** Drift the pipeline cannot follow: needs-action (rebuild the table), or transient when the source moved under a batch. */
export class SchemaDriftError extends PgduckError {
  constructor(message: string, details: Omit<PgduckErrorDetails, 'cause'> = { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE' }) {
    super(message, details);
    this.name = 'SchemaDriftError';
  }
}

const canonicalCache = new Map<string, string>();

/** DuckDB's own spelling of a type (`TIMESTAMPTZ` → `TIMESTAMP WITH TIME ZONE`), asked of DuckDB itself. */
async function canonicalType(session: LakeSession, type: string): Promise<string> {
  let out = canonicalCache.get(type);
  if (!out) {
    const rows = await session.all(`SELECT typeof(CAST(NULL AS ${type})) AS t`);
    out = String(rows[0].t);
    canonicalCache.set(type, out);
  }
  return out;
}

/**
 * The target's shape as last read in this session. Within one run only this drift check alters the
 * table (one run per pipeline at a time; no two pipelines share a target), so it is read once per run
 * and again after each DDL: most batches then cost no DuckDB catalog query (~5–9 ms each, measured).
 */
const shapes = new WeakMap<LakeSession, Map<string, { columns: TargetColumn[]; primaryKey: string[] | null }>>();

async function targetShape(session: LakeSession, table: string): Promise<{ columns: TargetColumn[]; primaryKey: string[] | null } | null> {
  let bySession = shapes.get(session);
  if (!bySession) shapes.set(session, (bySession = new Map()));
  const cached = bySession.get(table);
  if (cached) return cached;
  const columns = await describeTarget(session, table);
  if (!columns) return null;
  const shape = { columns: await Promise.all(columns.map(async (t) => ({ name: t.name, type: await canonicalType(session, t.type) }))), primaryKey: await targetPrimaryKey(session, table) };
  bySession.set(table, shape);
  return shape;
}

function forgetShape(session: LakeSession, table: string): void {
  shapes.get(session)?.delete(table);
}

// ---------------------------------------------------------------------------------------------------
// The plan of changes: pure, computed before any DDL.

export interface DriftInput {
  spec: Pick<PipelineSpec, 'name' | 'file' | 'source' | 'target' | 'schemaEvolution'>;
  /** Source columns of the batch, and their mappings with canonical DuckDB types. */
  source: PgColumn[];
  mapped: (ColumnMapping & { canonical: string })[];
  /** The source table's own primary key (null: none declared, e.g. a view). */
  sourcePrimaryKey: string[] | null;
  /** Snapshot of the last drift check ([] when none: first run, or after a reset). */
  previous: SourceColumnRecord[];
  /** The DuckDB table (canonical types) and its primary key. */
  target: TargetColumn[];
  targetPrimaryKey: string[] | null;
}

export interface DriftEvent {
  kind: string;
  detail: string;
}

export interface DriftPlan {
  renames: { from: string; to: string }[];
  /** Target columns of a dropped source column whose name a new source column now has: dropped before the add. */
  replaced: string[];
  added: ColumnMapping[];
  /** Key columns widened: the table is rebuilt. Other columns: ALTER … SET DATA TYPE. */
  widened: { column: ColumnMapping; from: string; to: string; key: boolean }[];
  /** Columns to re-read from the source for existing rows. */
  backfills: { reason: Backfill['reason']; columns: { attnum: number; name: string }[] }[];
  events: DriftEvent[];
  /** Columns loaded into the target, in Parquet order. */
  load: ColumnMapping[];
}

/** What the drift means for the target, or a SchemaDriftError saying what changed and how to recover. */
export function planDrift(input: DriftInput): DriftPlan {
  const { spec, source, mapped, previous, target } = input;
  const policy = spec.schemaEvolution;
  const table = spec.target.table;
  const keys = spec.source.primaryKey;
  const plan: DriftPlan = { renames: [], replaced: [], added: [], widened: [], backfills: [], events: [], load: [] };
  const problems: string[] = [];
  const incompatible: string[] = [];
  const onDrift = (what: string) => problems.push(what);
  // One backfill per reason, however many columns: each is one pass over the source's keys.
  const backfill = (reason: Backfill['reason'], m: ColumnMapping) => {
    let b = plan.backfills.find((x) => x.reason === reason);
    if (!b) plan.backfills.push((b = { reason, columns: [] }));
    b.columns.push({ attnum: m.attnum, name: m.name });
  };

  const inTarget = new Set(target.map((t) => t.name));
  const prevByAttnum = new Map(previous.map((p) => [p.attnum, p]));
  const sourceAttnums = new Set(source.map((s) => s.attnum));
  const known = previous.length > 0;

  // Soft-delete column: the `_current` view and every reader depend on it.
  if (spec.source.softDelete && !source.some((s) => s.name === spec.source.softDelete)) {
    incompatible.push(`the soft_delete column "${spec.source.softDelete}" is gone from the source (dropped or renamed): update soft_delete in ${spec.file}`);
  }

  // Primary key of the source table, by attnum (a renamed key column is still the same key).
  const prevKey = previous.filter((p) => p.pkPosition != null).sort((a, b) => a.pkPosition! - b.pkPosition!);
  if (prevKey.length > 0) {
    const nowKey = (input.sourcePrimaryKey ?? []).map((n) => source.find((s) => s.name === n)!);
    const same = nowKey.length === prevKey.length && nowKey.every((s, i) => s?.attnum === prevKey[i].attnum);
    if (!same) {
      incompatible.push(
        `the primary key of ${spec.source.schema}.${spec.source.table} changed from (${prevKey.map((p) => p.name).join(', ')}) to ` +
          `(${input.sourcePrimaryKey?.join(', ') ?? 'none'})`,
      );
    }
  }

  // Renames: same attnum, new name, the old name still in the target.
  const renamed = new Map<string, string>(); // old → new
  for (const s of source) {
    const p = prevByAttnum.get(s.attnum);
    if (!p || p.name === s.name || !inTarget.has(p.name)) continue;
    renamed.set(p.name, s.name);
  }
  if (renamed.size > 0) {
    const list = [...renamed].map(([from, to]) => ({ from, to }));
    const what = list.map((r) => `"${r.from}" → "${r.to}"`).join(', ');
    if (policy === 'fail') onDrift(`source column${list.length > 1 ? 's' : ''} renamed: ${what}`);
    else if (policy === 'freeze') {
      plan.events.push({ kind: 'ignored', detail: `source column${list.length > 1 ? 's' : ''} renamed (${what}): not renamed in ${table} (schema_evolution: freeze); the old column gets NULL from now on` });
    } else {
      for (const r of list) {
        if (inTarget.has(r.to) && !renamed.has(r.to)) {
          incompatible.push(`source column "${r.from}" was renamed to "${r.to}", but ${table} already has a column "${r.to}" (kept from a dropped source column)`);
        }
      }
      plan.renames = list;
      plan.events.push({ kind: 'renamed', detail: `column${list.length > 1 ? 's' : ''} renamed in ${table}: ${what}` });
    }
  }
  // The target's columns as they will be after the renames.
  const afterRename = new Map<string, TargetColumn>();
  for (const t of target) afterRename.set(policy === 'evolve' ? (renamed.get(t.name) ?? t.name) : t.name, t);

  // The key the target was built with must still be the pipeline's key.
  const targetKey = (input.targetPrimaryKey ?? []).map((k) => (policy === 'evolve' ? (renamed.get(k) ?? k) : k));
  if (input.targetPrimaryKey && targetKey.join('\u0000') !== keys.join('\u0000')) {
    incompatible.push(`the primary key changed: ${table} is keyed on (${input.targetPrimaryKey.join(', ')}), the pipeline now on (${keys.join(', ')})`);
  }

  for (const m of mapped) {
    const s = source.find((x) => x.attnum === m.attnum)!;
    const prev = prevByAttnum.get(m.attnum);
    const existing = afterRename.get(m.name);
    // A target column of this name that belongs to another (dropped) source column: the new one replaces it.
    const reused = existing !== undefined && known && !prev && !renamed.has(m.name);
    if (!existing || reused) {
      if (policy === 'fail') {
        onDrift(`new source column "${m.name}" (${m.pgType})${reused ? ', replacing a dropped column of the same name' : ''}`);
        continue;
      }
      if (policy === 'freeze') {
        if (!known || !prev) plan.events.push({ kind: 'ignored', detail: `new source column "${m.name}" (${m.pgType}) not added to ${table} (schema_evolution: freeze)` });
        continue;
      }
      if (keys.includes(m.name)) {
        incompatible.push(`primary-key column "${m.name}" is new in the source`);
        continue;
      }
      if (reused) plan.replaced.push(m.name);
      plan.added.push(m);
      backfill('added', m);
      plan.events.push({
        kind: 'added',
        detail: `column "${m.name}" ${m.duckType} added to ${table} (source type ${m.pgType})${reused ? `, replacing the kept column of a dropped source column "${m.name}"` : ''}`,
      });
      plan.load.push(m);
      continue;
    }

    const have = existing.type;
    const want = m.canonical;
    const pgChanged = prev?.baseType != null && prev.baseType !== s.baseType;
    const typeChange = pgChanged ? `${prev!.baseType} → ${s.baseType}` : `DuckDB ${have} → ${want}`;
    // Does Postgres' own ALTER … TYPE leave every existing value as the target (after its cast) holds it?
    const exact = pgChanged ? keepsText(prev!.baseType!, s.baseType) : isWidening(have, want);
    const retype = () => backfill('retyped', m);
    // Key and cursor values identify and order rows (keyset, checkpoint, never-backwards): they may
    // only change in ways that keep every value.
    if (!exact && (keys.includes(m.name) || m.name === spec.source.cursor)) {
      incompatible.push(`${keys.includes(m.name) ? 'primary-key' : 'cursor'} column "${m.name}" changed type (${typeChange}) in a way that can change its values`);
      continue;
    }

    if (have === want) {
      if (pgChanged) {
        if (policy === 'fail') onDrift(`source column "${m.name}" changed type: ${typeChange}`);
        else {
          if (!exact) retype();
          plan.events.push({
            kind: 'retyped',
            detail: `source column "${m.name}" changed type (${typeChange}); ${table} keeps ${have}${exact ? '' : ', existing rows re-read from the source'}`,
          });
        }
      }
      plan.load.push(m);
      continue;
    }

    const cannot = `column "${m.name}" changed type (${typeChange}): ${table} has ${have}, which cannot become ${want}`;
    if (policy === 'fail') {
      onDrift(`source column "${m.name}" changed type: ${typeChange}`);
      continue;
    }
    if (policy === 'evolve' && canWiden(have, want)) {
      plan.widened.push({ column: m, from: have, to: want, key: keys.includes(m.name) });
      if (!exact) retype();
      plan.events.push({
        kind: 'widened',
        detail: `column "${m.name}" widened from ${have} to ${want} in ${table}${keys.includes(m.name) ? ' (key column: table rebuilt)' : ''}${exact ? '' : ', existing rows re-read from the source'}`,
      });
      plan.load.push(m);
      continue;
    }
    if (isWidening(want, have)) {
      // The target is already wide enough for every new value (a narrowed source, or freeze).
      if (!exact) retype();
      if (pgChanged) {
        plan.events.push({ kind: 'retyped', detail: `source column "${m.name}" changed type (${typeChange}); ${table} keeps ${have}, which holds every value` });
      }
      plan.load.push(m);
      continue;
    }
    incompatible.push(policy === 'freeze' ? `${cannot} (schema_evolution: freeze keeps the target's types)` : cannot);
  }

  // Dropped: in the snapshot, gone from the source now. Reported once (the next snapshot no longer lists it).
  for (const p of previous) {
    if (sourceAttnums.has(p.attnum) || !inTarget.has(p.name)) continue;
    if (policy === 'fail') onDrift(`source column "${p.name}" was dropped`);
    else plan.events.push({ kind: 'dropped', detail: `source column "${p.name}" was dropped: kept in ${table}, NULL for rows written from now on` });
  }

  if (incompatible.length > 0) throw driftError(spec, incompatible.join('; '));
  if (problems.length > 0) throw driftError(spec, `${problems.join('; ')} (schema_evolution: fail stops on any drift)`);
  return plan;
}

function driftError(spec: DriftInput['spec'], what: string): SchemaDriftError {
  return new SchemaDriftError(
    `schema drift in ${spec.source.schema}.${spec.source.table}: ${what}. ` +
      `The DuckDB table ${spec.target.table} was left unchanged and the checkpoint did not move. ` +
      `To recover, rebuild the table from the source: pgduck reset ${spec.name} --drop-target`,
    { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: `pgduck reset ${spec.name} --drop-target` },
  );
}

// ---------------------------------------------------------------------------------------------------

/** Sessions (one per run) whose `<table>_current` view was already checked. */
const viewChecked = new WeakSet<object>();

export const driftCheckStage: Stage = {
  name: 'drift-check',
  describe() {
    return {
      compares: 'source columns (by attnum) and primary key with the DuckDB table before each batch',
      policy: 'schema_evolution',
      backfill: 'columns added with a DEFAULT (or retyped) are re-read for existing rows, keyset on the primary key',
    };
  },
  async run(ctx: StageContext, batch: BatchState) {
    const { spec, lake, store, log } = ctx;
    const table = spec.target.table;
    const record = (e: DriftEvent) => {
      store.addSchemaEvent(spec.name, e.kind, e.detail);
      log.warn({ pipeline: spec.name, drift: e.kind }, e.detail);
    };

    // The batch was read with a mapping made from the catalog just before: a type changed since then may
    // have given text that mapping misreads. Refuse the batch (nothing loaded) rather than guess.
    // (A domain's base type cannot change, so the declared type is enough; one light catalog query.)
    const shape = await introspectShape(ctx.pg, spec.source.schema, spec.source.table);
    const moved = batch.sourceColumns.filter((c) => {
      const n = shape?.columns.find((x) => x.attnum === c.attnum);
      return n !== undefined && n.declaredType !== c.declaredType;
    });
    if (moved.length > 0) {
      throw new SchemaDriftError(
        `the source changed while this batch was read (${moved.map((c) => `"${c.name}"`).join(', ')} changed type): nothing was loaded and the checkpoint did not move; the next run reads it again with the new types`,
        { kind: 'transient', code: 'DRIFT_DURING_READ' },
      );
    }
    // Key positions by attnum: the names of the batch (a key column renamed after the read is the same column).
    const keyAttnums = (shape?.primaryKey ?? []).map((n) => shape!.columns.find((c) => c.name === n)!.attnum);
    const sourcePrimaryKey = shape?.primaryKey
      ? keyAttnums.map((a) => batch.sourceColumns.find((c) => c.attnum === a)?.name ?? `#${a}`)
      : null;
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
    };

    const current = await targetShape(lake, table);
    if (!current) {
      await createTarget(lake, table, batch.columns.map((c) => ({ name: c.name, type: c.duckType })), spec.source.primaryKey);
      if (spec.source.softDelete) await createCurrentView(lake, table, spec.source.softDelete);
      // A new table is filled with every column of every row: older backfills have nothing left to do.
      for (const b of store.pendingBackfills(spec.name)) store.finishBackfill(b.id);
      snapshot();
      batch.loadColumns = batch.columns;
      return;
    }

    // Once per run: soft_delete may have been added to (or removed from) the pipeline file since the table was made.
    if (!viewChecked.has(lake)) {
      viewChecked.add(lake);
      await syncCurrentView(lake, table, spec.source.softDelete);
    }

    const mapped = await Promise.all(batch.columns.map(async (c) => ({ ...c, canonical: await canonicalType(lake, c.duckType) })));
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
        targetPrimaryKey: current.primaryKey,
      });
    } catch (err) {
      // A refusal repeats on every run until someone acts: record it once.
      const last = store.lastSchemaEvent(spec.name);
      const detail = (err as Error).message;
      if (last?.kind !== 'refused' || last.detail !== detail) store.addSchemaEvent(spec.name, 'refused', detail);
      log.error({ pipeline: spec.name, drift: 'refused' }, detail);
      throw err;
    }

    // Backfills first (a crash after the DDL must still find them), skipping columns already pending.
    const pending = new Set(store.pendingBackfills(spec.name).flatMap((b) => b.columns.map((c) => c.attnum)));
    for (const b of plan.backfills) {
      const cols = b.columns.filter((c) => !pending.has(c.attnum));
      if (cols.length > 0) store.addBackfill(spec.name, b.reason, cols);
    }
    if (plan.renames.length + plan.replaced.length + plan.added.length + plan.widened.length > 0) forgetShape(lake, table);
    await renameColumns(lake, table, plan.renames);
    for (const name of plan.replaced) await dropColumn(lake, table, name);
    for (const col of plan.added) await addColumn(lake, table, { name: col.name, type: col.duckType });
    const keyWidened = plan.widened.filter((w) => w.key);
    for (const w of plan.widened.filter((x) => !x.key)) {
      await alterColumnType(lake, table, w.column.name, w.to, alterUsing(quoteIdent(w.column.name), w.from, w.to));
    }
    if (keyWidened.length > 0) {
      const shape = (await describeTarget(lake, table)) ?? [];
      const columns = shape.map((t) => {
        const w = keyWidened.find((x) => x.column.name === t.name);
        return w ? { name: t.name, type: w.to, using: alterUsing(quoteIdent(t.name), w.from, w.to) } : { name: t.name, type: t.type, using: quoteIdent(t.name) };
      });
      await rebuildTarget(lake, table, columns, spec.source.primaryKey);
    }
    for (const e of plan.events) record(e);
    snapshot();

    const loaded = new Set([...target.map((t) => (plan.renames.find((r) => r.from === t.name)?.to ?? t.name)), ...plan.added.map((a) => a.name)]);
    await runPendingBackfills(ctx, batch.columns, batch.sourceColumns, loaded, batch.seq);
    batch.loadColumns = plan.load;
  },
};
