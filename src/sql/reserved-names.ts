/**
 * Names pgduck keeps for itself in a DuckDB file, known to both the config checks (a target may not
 * take one: src/config/check-pipeline-set.ts) and the code that makes them (src/duckdb/).
 */

/** Per target, the number of the last batch a run committed into it, in the file's `main` schema (src/duckdb/target-progress.ts). */
export const PROGRESS_TABLE = '_pgduck_progress';
