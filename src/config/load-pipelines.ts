import { checkPipelineSet, DEFAULT_DUCKDB_PATH } from './check-pipeline-set.js';
import { sortProblems, type ConfigProblem } from './config-problem.js';
import { expandPipelinePaths } from './expand-pipeline-paths.js';
import { loadPipelineFile } from './load-pipeline-file.js';
import type { PipelineSpec } from './pipeline-spec.js';

export type { ConfigProblem } from './config-problem.js';

export interface LoadResult {
  /** Pipelines that passed every check, in file order. A file with any problem has no spec here. */
  specs: PipelineSpec[];
  /** Every problem in every file, sorted by file (in the order given) then line:col. */
  problems: ConfigProblem[];
  /** Every pipeline file that was checked (directories expanded), in order. */
  files: string[];
}

/**
 * Loads and validates pipeline files before any I/O beyond reading them: `paths` are files or
 * directories (their *.yml / *.yaml). All problems are collected, none thrown, so a caller can
 * print every one at once. Synchronous and cheap (the ajv schema is compiled once per process).
 * Messages never contain the resolved value of an environment variable. `defaultDuckdbPath` is
 * where pipelines without target.duckdb_path write (--duckdb, else DUCKDB_PATH, else the default).
 */
export function loadPipelines(paths: string[], env: NodeJS.ProcessEnv = process.env, defaultDuckdbPath?: string): LoadResult {
  const expanded = expandPipelinePaths(paths);
  const loaded = expanded.files.map((file) => loadPipelineFile(file, env));
  const crossFile = checkPipelineSet(
    loaded.map((l) => l.identity),
    defaultDuckdbPath ?? env.DUCKDB_PATH ?? DEFAULT_DUCKDB_PATH,
  );
  const refused = new Set(crossFile.map((p) => p.file));
  const problems = sortProblems(
    [...expanded.problems, ...loaded.flatMap((l) => l.problems), ...crossFile],
    [...expanded.files, ...expanded.problems.map((p) => p.file)],
  );
  const specs = loaded.flatMap((l) => (l.spec && !refused.has(l.spec.file) ? [l.spec] : []));
  return { specs, problems, files: expanded.files };
}
