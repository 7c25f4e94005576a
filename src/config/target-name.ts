import { parseTableName } from './parse-table-name.js';

/** DuckDB's default schema: where a target without target.schema or a dotted target.table lives. */
export const DEFAULT_TARGET_SCHEMA = 'main';

/**
 * target.table (`table`, `schema.table`, quoted like source.table) and target.schema resolved to
 * the DuckDB schema and table written: the dotted schema wins (the checks refuse a disagreeing
 * target.schema), then target.schema, then `main`.
 */
export function resolveTargetName(table: string, schema: string | undefined): { schema: string; table: string } | { error: string } {
  const parsed = parseTableName(table);
  if ('error' in parsed) return parsed;
  return { schema: parsed.schema ?? schema ?? DEFAULT_TARGET_SCHEMA, table: parsed.table };
}
