/**
 * `source.columns` (README, "Columns"): which of the source table's columns a pipeline syncs. One
 * pure function so every reader of the source (the extract, the drift check, verify, repair,
 * `plan --connect`, `validate --connect`) selects the same columns: an excluded column is never in
 * a SELECT, a Parquet file or the DuckDB table, whenever it was added, renamed or retyped.
 *
 * Selection is by name. The whole source (selected or not) is still what the drift check snapshots
 * (src/stages/drift-check.ts), so a column that leaves the selection by a rename is caught by attnum
 * rather than silently synced (unselectedRename below).
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { PgColumn } from './column.js';

type Selection = Pick<PipelineSpec['source'], 'columns'>;

/** Whether a column of this name is synced. */
export function isSelected(source: Selection, name: string): boolean {
  const sel = source.columns;
  if (!sel) return true;
  return 'include' in sel ? sel.include.includes(name) : !sel.exclude.includes(name);
}

/** The synced columns of the source, in source order. */
export function selectColumns<C extends { name: string }>(source: Selection, columns: C[]): C[] {
  return source.columns ? columns.filter((c) => isSelected(source, c.name)) : columns;
}

/** Names an include list gives that the source does not have (an exclude list may name absent columns). */
export function missingIncluded(source: Selection, columns: { name: string }[]): string[] {
  const sel = source.columns;
  if (!sel || !('include' in sel)) return [];
  return sel.include.filter((n) => !columns.some((c) => c.name === n));
}

/** Names of an exclude (or include) list that the source does not have: what `validate --connect` reports. */
export function listedButAbsent(source: Selection, columns: { name: string }[]): string[] {
  const sel = source.columns;
  if (!sel) return [];
  const listed = 'include' in sel ? sel.include : sel.exclude;
  return listed.filter((n) => !columns.some((c) => c.name === n));
}

/**
 * A source column that is selected now under a new name while the last drift check saw it, by the
 * same attnum (the state store's snapshot, SourceColumnRecord), under a name the exclude list leaves out: an excluded `password_hash` renamed
 * `pw_hash`. Syncing it would copy what the file excludes, so the drift check refuses it.
 */
export function unselectedRename(source: Selection, now: PgColumn[], previous: readonly { attnum: number; name: string }[]): { from: string; to: string }[] {
  // Under include a column is synced only when the file names it: a rename into the list is the file's choice.
  if (!source.columns || !('exclude' in source.columns)) return [];
  const out: { from: string; to: string }[] = [];
  for (const c of now) {
    const p = previous.find((x) => x.attnum === c.attnum);
    if (p && p.name !== c.name && isSelected(source, c.name) && !isSelected(source, p.name)) out.push({ from: p.name, to: c.name });
  }
  return out;
}
