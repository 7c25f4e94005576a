/**
 * hard_delete_mode mark: the target column reconcile sets to when it found a row gone from the source
 * (src/repair/repair-rows.ts); NULL on every row the source has. pgduck's own: a source column of this
 * name is refused under mark (src/stages/drift-check.ts). Its own file so that both engines' sides of
 * verify (src/verify/verify-shape.ts) can name it without importing the DuckDB folder.
 */
export const DELETED_AT_COLUMN = '_pgduck_deleted_at';
