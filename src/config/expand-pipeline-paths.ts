import { readdirSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { ConfigProblem } from './config-problem.js';

export interface ExpandedPaths {
  /** Pipeline files, as the user would write them (relative paths stay relative), each once. */
  files: string[];
  /** Paths that do not exist, cannot be read, or are not pipeline files. */
  problems: ConfigProblem[];
}

const PIPELINE_FILE = /\.ya?ml$/i;

/**
 * Files and directories → pipeline files. A directory stands for its own *.yml and *.yaml files
 * (not subdirectories, not dotfiles such as editor backups), sorted by name so output is stable.
 * A file named explicitly must still be YAML. The same file reached twice is checked once.
 */
export function expandPipelinePaths(paths: readonly string[]): ExpandedPaths {
  const files: string[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
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
        if (isFile(file)) add(file);
      }
    } else if (!PIPELINE_FILE.test(path)) {
      fail(path, `is not a pipeline file: expected a .yml or .yaml file or a directory of them (got ${extname(path) || 'no extension'})`);
    } else {
      add(path);
    }
  }
  return { files, problems };
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
