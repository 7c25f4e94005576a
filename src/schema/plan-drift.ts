/**
 * planDrift: what a change of the source's columns means for the DuckDB table, by the pipeline's
 * `schema_evolution` policy (see src/stages/drift-check.ts, which applies it). Pure: computed from
 * the batch's source columns, the last snapshot and the target's shape, before any DDL, so tests
 * assert on it without a database.
 */
import type { ColumnMapping, PgColumn } from './column.js';
import { canWiden, isWidening, keepsText } from './type-change.js';
import { targetLabel, type TargetColumn } from '../duckdb/target-table.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { Backfill, SourceColumnRecord } from '../state/checkpoint-store.js';
import { SchemaDriftError } from './schema-drift-error.js';
import { isSelected, unselectedRename } from './column-selection.js';
import { quoteIdent } from '../sql/identifier.js';

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
  // As people name it: `orders`, or `analytics.orders` outside `main`.
  const table = targetLabel(spec.target);
  const tableSql = `${spec.target.schema === 'main' ? '' : `${quoteIdent(spec.target.schema)}.`}${quoteIdent(spec.target.table)}`;
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

  // source.columns (column-selection.ts): `source` is every column, `mapped` only the selected ones, so
  // an unselected column is never added, widened or loaded, and its changes are no drift. Two cases
  // are refused instead: an excluded column renamed into the selection (it would be copied), and a
  // column the target already holds that the file now leaves out (its data would be NULLed row by row).
  const leaked = unselectedRename(spec.source, source, previous);
  if (leaked.length > 0) {
    throw new SchemaDriftError(
      `source column${leaked.length > 1 ? 's' : ''} ${leaked.map((r) => `"${r.from}" → "${r.to}"`).join(', ')} of ${spec.source.schema}.${spec.source.table} ` +
        `renamed: source.columns.exclude names the old name, so the column would now be synced. Nothing was loaded and the checkpoint did not move. ` +
        `Add ${leaked.map((r) => `"${r.to}"`).join(', ')} to source.columns.exclude in ${spec.file} (to sync it after all, take it out again on a later run: it is then added and backfilled)`,
      { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: `add ${leaked.map((r) => r.to).join(', ')} to source.columns.exclude in ${spec.file}` },
    );
  }
  const leftOut = target.filter((t) => source.some((s) => s.name === t.name) && !isSelected(spec.source, t.name)).map((t) => t.name);
  if (leftOut.length > 0) {
    const list = leftOut.map((n) => `"${n}"`).join(', ');
    throw new SchemaDriftError(
      `source.columns in ${spec.file} leaves out ${list}, which the DuckDB table ${table} holds (synced before the file changed). ` +
        `pgduck never drops synced data, and loading rows without ${leftOut.length > 1 ? 'them' : 'it'} would empty ${leftOut.length > 1 ? 'them' : 'it'} row by row. Nothing was loaded and the checkpoint did not move. ` +
        `To stop syncing ${list}: drop ${leftOut.length > 1 ? 'them' : 'it'} from ${table} (${leftOut.map((n) => `ALTER TABLE ${tableSql} DROP COLUMN ${quoteIdent(n)}`).join('; ')}) ` +
        `or rebuild the table without ${leftOut.length > 1 ? 'them' : 'it'} (pgduck reset ${spec.name} --drop-target); to keep syncing ${leftOut.length > 1 ? 'them' : 'it'}, select ${leftOut.length > 1 ? 'them' : 'it'} again in source.columns`,
      { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: `drop ${leftOut.join(', ')} from ${table}, or pgduck reset ${spec.name} --drop-target` },
    );
  }

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
  // A synced column renamed to a name source.columns leaves out: renaming it would keep an unsynced column
  // in the table, emptied row by row (found by review). Refused, as the selection leaving a synced column out is.
  const renamedOut = [...renamed].filter(([, to]) => !isSelected(spec.source, to));
  if (renamedOut.length > 0) {
    const what = renamedOut.map(([from, to]) => `"${from}" → "${to}"`).join(', ');
    throw new SchemaDriftError(
      `source column${renamedOut.length > 1 ? 's' : ''} ${what} of ${spec.source.schema}.${spec.source.table} renamed to a name source.columns in ${spec.file} leaves out, ` +
        `while ${table} holds ${renamedOut.length > 1 ? 'them' : 'it'} under the old name. Nothing was loaded and the checkpoint did not move. ` +
        `To keep syncing ${renamedOut.length > 1 ? 'them' : 'it'}, select the new name${renamedOut.length > 1 ? 's' : ''}; to stop, drop ${renamedOut.map(([from]) => `"${from}"`).join(', ')} from ${table} ` +
        `(or pgduck reset ${spec.name} --drop-target)`,
      { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: `select ${renamedOut.map(([, to]) => to).join(', ')} in source.columns of ${spec.file}` },
    );
  }
  if (renamed.size > 0) {
    const list = [...renamed].map(([from, to]) => ({ from, to }));
    const what = list.map((r) => `"${r.from}" → "${r.to}"`).join(', ');
    if (policy === 'fail') onDrift(`source column${list.length > 1 ? 's' : ''} renamed: ${what}`);
    else if (policy === 'freeze') {
      plan.events.push({
        kind: 'ignored',
        detail: `source column${list.length > 1 ? 's' : ''} renamed (${what}): not renamed in ${table} (schema_evolution: freeze); the old column gets NULL from now on`,
      });
    } else {
      for (const r of list) {
        if (inTarget.has(r.to) && !renamed.has(r.to)) {
          incompatible.push(
            `source column "${r.from}" was renamed to "${r.to}", but ${table} already has a column "${r.to}" (kept from a dropped source column)`,
          );
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
    // The column's previous name is no column of the target: it was not synced under that name (not
    // selected, or left behind by freeze). A target column of its new name then holds another column's
    // values (a dropped one's), or this one's from before freeze left it (found by review: either kept
    // stale values, no drift seen).
    const cameBack = prev !== undefined && prev.name !== m.name && !inTarget.has(prev.name) && !renamed.has(m.name);
    // A target column of this name that belongs to another (dropped) source column: the new one replaces it.
    const reused = existing !== undefined && known && (!prev || (cameBack && policy !== 'freeze')) && !renamed.has(m.name);
    // Under freeze the table is not changed: the column is loaded as it is and its existing rows re-read.
    if (existing !== undefined && cameBack && policy === 'freeze') backfill('retyped', m);
    if (!existing || reused) {
      if (policy === 'fail') {
        onDrift(`new source column "${m.name}" (${m.pgType})${reused ? ', replacing a dropped column of the same name' : ''}`);
        continue;
      }
      if (policy === 'freeze') {
        if (!known || !prev)
          plan.events.push({ kind: 'ignored', detail: `new source column "${m.name}" (${m.pgType}) not added to ${table} (schema_evolution: freeze)` });
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
      incompatible.push(
        `${keys.includes(m.name) ? 'primary-key' : 'cursor'} column "${m.name}" changed type (${typeChange}) in a way that can change its values`,
      );
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
        plan.events.push({
          kind: 'retyped',
          detail: `source column "${m.name}" changed type (${typeChange}); ${table} keeps ${have}, which holds every value`,
        });
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
