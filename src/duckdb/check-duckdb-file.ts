/**
 * Can a pipeline write its DuckDB file right now? (`pgduck validate --connect`.) The file is
 * opened read-write and closed at once, exactly as the runner will open it, so a lock held by
 * another process (a DuckDB CLI, a notebook, a `pgduck run` mid-cycle) shows up here. A file that
 * does not exist yet is not created: only the directory it would be created in is checked.
 */
import type { DuckDBInstance } from '@duckdb/node-api';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describeLockHolder, parseLockConflict } from './lock-conflict.js';
import { duckdbApi } from './duckdb-api.js';

export interface DuckDbFileProblem {
  /** `locked`: another process holds it; `unwritable`: permissions or not a file; `unreadable`: DuckDB cannot open it. */
  kind: 'locked' | 'unwritable' | 'unreadable';
  message: string;
  /** What to do about it. */
  fix: string;
}

/** null when the runner could open `path` for writing now. Never creates or changes the file. */
export async function checkDuckDbFile(path: string): Promise<DuckDbFileProblem | null> {
  const abs = resolve(path);
  const stats = statOrNull(abs);
  if (!stats) return checkCreatable(abs);
  if (!stats.isFile()) {
    return { kind: 'unwritable', message: 'is not a file', fix: 'point DUCKDB_PATH (or target.duckdb_path) at a file, not a directory' };
  }
  if (!canAccess(abs, constants.R_OK | constants.W_OK) || !canAccess(dirname(abs), constants.W_OK | constants.X_OK)) {
    return {
      kind: 'unwritable',
      message: 'is not writable by this user (the file or its directory; DuckDB writes a .wal file next to it)',
      fix: `give this user write access to ${abs} and its directory`,
    };
  }
  let instance: DuckDBInstance | undefined;
  try {
    // Loaded here, not at the top: a file that is missing or unwritable needs no DuckDB.
    const { DuckDBInstance: Instance } = duckdbApi();
    instance = await Instance.create(abs);
    return null;
  } catch (err) {
    const text = (err as Error).message.split('\n')[0];
    const lock = parseLockConflict(text);
    if (lock) {
      return {
        kind: 'locked',
        message: `is locked by ${describeLockHolder(lock)}: DuckDB lets one process write a file at a time`,
        fix: `close the other process${lock.pid !== null ? ` (PID ${lock.pid})` : ''}; a \`pgduck run\` holds the file only while a pipeline runs`,
      };
    }
    return {
      kind: 'unreadable',
      message: `cannot be opened by DuckDB: ${text}`,
      fix: 'check that it is a DuckDB database file of a version this DuckDB can read',
    };
  } finally {
    instance?.closeSync();
  }
}

/** The file would be created on the first run: the nearest existing directory above it must let us (mkdir -p, then create). */
function checkCreatable(abs: string): DuckDbFileProblem | null {
  let dir = dirname(abs);
  while (!statOrNull(dir)) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const stats = statOrNull(dir);
  if (!stats?.isDirectory()) {
    return {
      kind: 'unwritable',
      message: `cannot be created: ${dir} is not a directory`,
      fix: 'point DUCKDB_PATH (or target.duckdb_path) at a path inside a directory',
    };
  }
  if (!canAccess(dir, constants.W_OK | constants.X_OK)) {
    return {
      kind: 'unwritable',
      message: `cannot be created: directory ${dir} is not writable by this user`,
      fix: `give this user write access to ${dir}, or choose another path`,
    };
  }
  return null;
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}
