/**
 * Which DuckDB table a checkpoint's rows were loaded into: the file (its real path) and the table
 * (schema and name, as DuckDB compares them: without case). Recorded with every checkpoint write;
 * a run whose pipeline now names another table or file (the target renamed in the pipeline file,
 * DUCKDB_PATH pointing elsewhere) bootstraps that table instead of continuing from a position it
 * never had (docs/architecture.md, rule 5; src/stages/target-lost.ts). Pure: no driver.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TargetName } from './target-table.js';

/** The identity as stored (an opaque string; describeTargetIdentity prints it). */
export function targetIdentity(duckdbPath: string, target: TargetName): string {
  const absolute = resolve(duckdbPath);
  // The same file reached through a link is the same target.
  const file = existsSync(absolute) ? realpathSync(absolute) : absolute;
  return JSON.stringify({ file, schema: target.schema.toLowerCase(), table: target.table.toLowerCase() });
}

/** `<schema>.<table> in <file>`, for messages; the stored text as it is when it is not an identity. */
export function describeTargetIdentity(identity: string): string {
  try {
    const { file, schema, table } = JSON.parse(identity) as { file: string; schema: string; table: string };
    return `${schema}.${table} in ${file}`;
  } catch {
    return identity;
  }
}
