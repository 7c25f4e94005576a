import type { ConfigProblem } from './config-problem.js';
import { formatProblems, formatProblemsJson, formatSummary } from './format-problems.js';
import { loadPipelines } from './load-pipelines.js';

/** Exit codes of `pgduck validate`. 2 is specific to configuration, as in Vector's `validate`. */
export const EXIT_VALID = 0;
export const EXIT_INVALID_CONFIG = 2;

/** Where `pgduck validate` looks when given no paths. */
export const DEFAULT_PIPELINE_DIR = 'pipelines';

export interface ValidateOptions {
  /** Print one JSON report instead of `file:line:col path: message` lines and a summary. */
  json: boolean;
  /** Environment for `${VAR}` interpolation; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * `pgduck validate [paths...] [--json]`: loads every pipeline file under `paths` (default
 * pipelines/), prints every problem at once and a summary, and returns the exit code: 0 when all
 * are valid, 2 when any problem was found (including a path that does not exist, or nothing to
 * check). Offline only: no database is contacted. Never prints an environment variable's value.
 */
export async function runValidate(paths: string[], opts: ValidateOptions, out: NodeJS.WritableStream): Promise<number> {
  const given = paths.length > 0 ? paths : [DEFAULT_PIPELINE_DIR];
  const { problems, files } = loadPipelines(given, opts.env ?? process.env);
  const all: ConfigProblem[] =
    files.length === 0 && problems.length === 0
      ? given.map((file) => ({ file, line: 1, col: 1, path: '', message: 'no pipeline files (*.yml, *.yaml) found here' }))
      : problems;

  const text = opts.json ? formatProblemsJson(all, files.length) : `${formatProblems(all)}${formatSummary(files.length, all.length)}\n`;
  await new Promise<void>((resolve, reject) => out.write(text, (error) => (error ? reject(error) : resolve())));
  return all.length === 0 ? EXIT_VALID : EXIT_INVALID_CONFIG;
}
