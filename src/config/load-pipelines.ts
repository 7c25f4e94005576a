import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { checkPipelineSet, DEFAULT_DUCKDB_PATH, type PipelineIdentity } from './check-pipeline-set.js';
import { sortProblems, type ConfigProblem } from './config-problem.js';
import { expandPipelinePaths } from './expand-pipeline-paths.js';
import { loadDefaultsFile, type SharedDefaults } from './load-defaults-file.js';
import { loadPipelineFile, type LoadedPipelineFile } from './load-pipeline-file.js';
import type { PipelineSpec } from './pipeline-spec.js';
import { DEFAULTS_FILE_NAMES } from './shared-defaults-names.js';

export type { ConfigProblem } from './config-problem.js';

export interface LoadResult {
  /** Pipelines that passed every check, in file order. A file with any problem has no spec here. */
  specs: PipelineSpec[];
  /** Every problem in every file, sorted by file (in the order given) then line:col. */
  problems: ConfigProblem[];
  /** Every pipeline file that was checked (directories expanded), in order. */
  files: string[];
  /** Every shared-defaults file that was checked (`pipelines/_defaults.yml`), in order. */
  defaults: string[];
  /** What each pipeline file names of itself, problems or not (its source and target where they resolved), in file order. */
  identities: PipelineIdentity[];
}

/**
 * Loads and validates pipeline files before any I/O beyond reading them: `paths` are files or
 * directories (their *.yml / *.yaml). All problems are collected, none thrown, so a caller can
 * print every one at once. Synchronous and cheap (the ajv schema is compiled once per process).
 * Messages never contain the resolved value of an environment variable. `defaultDuckdbPath` is
 * where pipelines without target.duckdb_path write (--duckdb, else DUCKDB_PATH, else the default).
 *
 * Each pipeline file inherits the shared defaults of its own directory (`_defaults.yml`), however
 * it was named: a file given explicitly too. A defaults file is read and checked once, its
 * problems reported once; it leaves pipelines of other directories alone.
 */
export function loadPipelines(paths: string[], env: NodeJS.ProcessEnv = process.env, defaultDuckdbPath?: string): LoadResult {
  const expanded = expandPipelinePaths(paths);
  const byDirectory = new Map<string, SharedDefaults | undefined>();
  const sharedFor = (dir: string): SharedDefaults | undefined => {
    const key = resolve(dir);
    if (!byDirectory.has(key)) byDirectory.set(key, findDefaults(dir, env));
    return byDirectory.get(key);
  };
  for (const file of expanded.defaults) sharedFor(dirname(file));
  const loaded = expanded.files.map((file) => loadPipelineFile(file, env, sharedFor(dirname(file))));
  const shared = [...byDirectory.values()].filter((d) => d !== undefined);

  const crossFile = checkPipelineSet(
    loaded.map((l) => l.identity),
    defaultDuckdbPath ?? env.DUCKDB_PATH ?? DEFAULT_DUCKDB_PATH,
  );
  const refused = new Set(crossFile.map((p) => p.file));
  const problems = sortProblems(
    [...expanded.problems, ...shared.flatMap((d) => d.problems), ...loaded.flatMap((l) => l.problems), ...crossFile],
    [...shared.map((d) => d.file), ...expanded.files, ...expanded.problems.map((p) => p.file)],
  );
  const specs = loaded.flatMap((l) => (l.spec && !refused.has(l.spec.file) ? [l.spec] : []));
  return { specs, problems, files: expanded.files, defaults: shared.map((d) => d.file), identities: loaded.map((l) => l.identity) };
}

/**
 * One pipeline file with its directory's shared defaults, and nothing else (no other file, no
 * cross-file check): for commands that must work while other files are broken (reset). Problems of
 * the shared defaults come first.
 */
export function loadOnePipelineFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedPipelineFile {
  const shared = findDefaults(dirname(file), env);
  const loaded = loadPipelineFile(file, env, shared);
  return { ...loaded, problems: [...(shared?.problems ?? []), ...loaded.problems] };
}

/** The directory's shared defaults, loaded; undefined when it has none. Both spellings at once is a problem of the second. */
function findDefaults(dir: string, env: NodeJS.ProcessEnv): SharedDefaults | undefined {
  const found = DEFAULTS_FILE_NAMES.map((name) => join(dir, name)).filter(isFile);
  if (found.length === 0) return undefined;
  const defaults = loadDefaultsFile(found[0], env);
  for (const other of found.slice(1)) {
    defaults.problems.push({
      file: other,
      line: 1,
      col: 1,
      path: '',
      message: `a directory holds one shared-defaults file, and ${found[0]} is one too: merge them and delete the other`,
    });
  }
  return defaults;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
