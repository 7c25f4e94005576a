/**
 * hard_delete_mode mark: the target column reconcile sets to when it found a row gone from the source
 * (src/repair/repair-rows.ts); NULL on every row the source has. pgduck's own: a source column of this
 * name is refused under mark (markColumnClash: the run's drift check and reconcile's repair). Its own file so that both engines' sides of
 * verify (src/verify/verify-shape.ts) can name it without importing the DuckDB folder.
 */
export const DELETED_AT_COLUMN = '_pgduck_deleted_at';

/**
 * Under hard_delete_mode mark, a source column named DELETED_AT_COLUMN would be overwritten by the
 * marks (or hide rows from verify): what to say and how to fix it, or null when there is no clash.
 * The caller adds what it left and throws it as needs-action DRIFT_INCOMPATIBLE.
 */
export function markColumnClash(
  spec: { file: string; source: { schema: string; table: string; hardDeleteMode?: 'remove' | 'mark' } },
  sourceColumns: readonly { name: string }[],
): { message: string; fix: string } | null {
  if (spec.source.hardDeleteMode !== 'mark' || !sourceColumns.some((c) => c.name === DELETED_AT_COLUMN)) return null;
  return {
    message: `source table ${spec.source.schema}.${spec.source.table} has a column "${DELETED_AT_COLUMN}", the column hard_delete_mode mark keeps its marks in`,
    fix: `rename "${DELETED_AT_COLUMN}" in the source, or set source.hard_delete_mode: remove in ${spec.file}`,
  };
}
