import { readdirSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { ConfigProblem } from './config-problem.js';
import { isDefaultsFileName, isReservedFileName } from './shared-defaults-names.js';

export interface ExpandedPaths {
  /** Pipeline files, as the user would write them (relative paths stay relative), each once. */
  files: string[];
  /** Shared-defaults files (`_defaults.yml`) found in a directory or named explicitly, each once. */
  defaults: string[];
  /** Paths that do not exist, cannot be read, or are not pipeline files. */
  problems: ConfigProblem[];
}

const PIPELINE_FILE = /\.ya?ml$/i;

/**
 * Files and directories → pipeline files. A directory stands for its own *.yml and *.yaml files
 * (not subdirectories, not dotfiles such as editor backups, not files starting with `_`, which are
 * not pipelines: shared-defaults-names.ts), sorted by name so output is stable. A file named
 * explicitly must still be YAML, and must not start with `_` unless it is a shared-defaults file
 * (then it is checked as one). The same file reached twice is checked once.
 */
export function expandPipelinePaths(paths: readonly string[]): ExpandedPaths {
  const files: string[] = [];
  const defaults: string[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (file: string, into: string[] = files) => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    into.push(file);
  };
  const fail = (file: string, message: string) => problems.push({ file, line: 1, col: 1, path: '', message });

  for (const given of paths) {
    const path = normalize(given);
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      fail(path, describeFsError(error, 'does not exist'));
      continue;
    }
    if (stats.isDirectory()) {
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (error) {
        fail(path, describeFsError(error, 'cannot be listed'));
        continue;
      }
      for (const entry of entries) {
        if (entry.startsWith('.') || !PIPELINE_FILE.test(entry)) continue;
        const file = join(path, entry);
        if (isReservedFileName(entry) && !isDefaultsFileName(entry)) continue;
        if (isFile(file)) add(file, isDefaultsFileName(entry) ? defaults : files);
      }
    } else if (!PIPELINE_FILE.test(path)) {
      fail(path, `is not a pipeline file: expected a .yml or .yaml file or a directory of them (got ${extname(path) || 'no extension'})`);
    } else if (isDefaultsFileName(path)) {
      add(path, defaults);
    } else if (isReservedFileName(path)) {
      fail(path, 'is not a pipeline file: a name starting with `_` is reserved for files that are not pipelines (such as _defaults.yml); rename it');
    } else {
      add(path);
    }
  }
  return { files, defaults, problems };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function describeFsError(error: unknown, notFound: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return `${notFound} (no such file or directory)`;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot be read (${code ?? String(error)})`;
}
