import { resolve } from 'node:path';
import type { ConfigProblem } from './config-problem.js';
import { parseTableName } from './parse-table-name.js';
import { DEFAULT_TARGET_SCHEMA, resolveTargetName } from './target-name.js';
import type { Position } from './yaml-locator.js';
import { PROGRESS_TABLE } from '../sql/reserved-names.js';

/** What the cross-file checks need to know about one loaded file, valid or not. */
export interface PipelineIdentity {
  file: string;
  name: string;
  /**
   * The source table the file reads, when source.table (and source.schema) resolved, even if the
   * file has other problems: `pgduck init` must know which tables the directory's files already read.
   */
  source?: { schema: string; table: string };
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
    // Names pgduck itself makes beside a target (found by review: `replay --drop-target` of `orders`
    // dropped another pipeline's table `orders__pgduck_replay`, its scratch name).
    const [schemaName, table] = targetParts(pipeline.target.table, pipeline.target.schema);
    const bare = table.toLowerCase();
    if (schemaName.toLowerCase() === 'main' && bare === PROGRESS_TABLE) {
      problems.push({
        file: pipeline.file,
        ...pipeline.target.position,
        path: 'target.table',
        message: `DuckDB table \`${PROGRESS_TABLE}\` is pgduck's own (where each run records, in the file, the last batch it committed): choose another name`,
      });
    }
    const scratch = SCRATCH_SUFFIXES.find((suffix) => bare.endsWith(suffix));
    if (scratch) {
      problems.push({
        file: pipeline.file,
        ...pipeline.target.position,
        path: 'target.table',
        message: `target table names ending in \`${scratch}\` are pgduck's own (a replay or a rebuild makes a table of that name beside its target and drops it): choose another name`,
      });
    }
  }
  // A target named as another pipeline's `<table>_current` view (found by review: that pipeline failed on
  // every run, unable to replace a table with its view). Reserved for every target: soft_delete may come later.
  for (const pipeline of targets.values()) {
    if (!pipeline.target) continue;
    // The key of the view of this target (target-table.ts: syncCurrentView): its table's name and `_current`.
    const view = targets.get(targetKey(pipeline.target.table, pipeline.target.schema, pipeline.target.duckdbPath ?? defaultDuckdbPath, '_current'));
    if (!view?.target) continue;
    problems.push({
      file: view.file,
      ...view.target.position,
      path: 'target.table',
      message: `DuckDB table \`${targetShown(view.target.table, view.target.schema)}\` is the name of the \`<table>_current\` view pipeline \`${pipeline.name}\` (${pipeline.file}) keeps beside its table; choose another name`,
    });
  }
  return problems;
}

/** The suffixes of the scratch tables a replay (run-replay.ts) and a key rebuild (target-table.ts) make beside a target. */
const SCRATCH_SUFFIXES = ['__pgduck_replay', '__pgduck_rebuild'];

/** The schema and table a target names (`main` when none; the text as written when it does not parse). */
function targetParts(table: string, schema: string | undefined): [string, string] {
  const resolved = resolveTargetName(table, schema);
  return 'error' in resolved ? [DEFAULT_TARGET_SCHEMA, table] : [resolved.schema, resolved.table];
}

/**
 * DuckDB identifiers are case-insensitive and `main` is the default schema: `Main.Subs` is `subs`,
 * and `analytics.orders` (or target.schema: analytics) is another table than `staging.orders`.
 */
function targetKey(table: string, schema: string | undefined, duckdbPath: string, suffix = ''): string {
  const [s, t] = targetParts(table, schema);
  return JSON.stringify([resolve(duckdbPath), s.toLowerCase(), `${t}${suffix}`.toLowerCase()]);
}

/** The table as the file wrote it, with target.schema in front when the file gave the schema that way. */
function targetShown(table: string, schema: string | undefined): string {
  const parsed = parseTableName(table);
  return schema !== undefined && !('error' in parsed) && parsed.schema === undefined ? `${schema}.${table}` : table;
}
