import { resolve } from 'node:path';
import type { ConfigProblem } from './config-problem.js';
import { parseTableName } from './parse-table-name.js';
import { DEFAULT_TARGET_SCHEMA, resolveTargetName } from './target-name.js';
import type { Position } from './yaml-locator.js';

/** What the cross-file checks need to know about one loaded file, valid or not. */
export interface PipelineIdentity {
  file: string;
  name: string;
  /** Present when target.table resolved to a string. */
  target?: {
    /** target.table as written: `table` or `schema.table`. */
    table: string;
    /** target.schema (written or inherited from the shared defaults); a dotted table's schema wins. */
    schema?: string;
    duckdbPath?: string;
    position: Position;
    /** target.table came from the environment: do not echo it. */
    fromEnv: boolean;
  };
}

/** Where a pipeline writes when neither target.duckdb_path nor DUCKDB_PATH says otherwise. */
export const DEFAULT_DUCKDB_PATH = 'lake/warehouse.duckdb';

/**
 * Rules across files: pipeline names (file stems) are unique, because the name keys the checkpoint;
 * and one DuckDB table in one DuckDB file has exactly one writer, because two pipelines upserting
 * one table would overwrite each other's rows and drift checks. The first file (in the order
 * given) keeps its claim; each later one gets the problem.
 */
export function checkPipelineSet(pipelines: readonly PipelineIdentity[], defaultDuckdbPath: string = DEFAULT_DUCKDB_PATH): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Map<string, PipelineIdentity>();
  const targets = new Map<string, PipelineIdentity>();
  for (const pipeline of pipelines) {
    const owner = names.get(pipeline.name);
    if (owner) {
      problems.push({
        file: pipeline.file,
        line: 1,
        col: 1,
        path: '',
        message: `pipeline name \`${pipeline.name}\` (the file stem) is already used by ${owner.file}; rename one of the files`,
      });
    } else {
      names.set(pipeline.name, pipeline);
    }

    if (!pipeline.target) continue;
    const key = targetKey(pipeline.target.table, pipeline.target.schema, pipeline.target.duckdbPath ?? defaultDuckdbPath);
    const writer = targets.get(key);
    if (writer) {
      const what = pipeline.target.fromEnv ? 'this DuckDB table' : `DuckDB table \`${targetShown(pipeline.target.table, pipeline.target.schema)}\``;
      problems.push({
        file: pipeline.file,
        ...pipeline.target.position,
        path: 'target.table',
        message: `${what} is already written by pipeline \`${writer.name}\` (${writer.file}) in the same DuckDB file; a target table takes exactly one pipeline`,
      });
    } else {
      targets.set(key, pipeline);
    }
  }
  return problems;
}

/**
 * DuckDB identifiers are case-insensitive and `main` is the default schema: `Main.Subs` is `subs`,
 * and `analytics.orders` (or target.schema: analytics) is another table than `staging.orders`.
 */
function targetKey(table: string, schema: string | undefined, duckdbPath: string): string {
  const resolved = resolveTargetName(table, schema);
  const parts = 'error' in resolved ? [DEFAULT_TARGET_SCHEMA, table] : [resolved.schema, resolved.table];
  return JSON.stringify([resolve(duckdbPath), ...parts.map((p) => p.toLowerCase())]);
}

/** The table as the file wrote it, with target.schema in front when the file gave the schema that way. */
function targetShown(table: string, schema: string | undefined): string {
  const parsed = parseTableName(table);
  return schema !== undefined && !('error' in parsed) && parsed.schema === undefined ? `${schema}.${table}` : table;
}
