/**
 * One reader or pruner of a Parquet history directory at a time: `pgduck history prune` deletes
 * files `pgduck replay` may be reading, so each takes `<parquet dir>/.pgduck-history.lock` (its pid,
 * host, start time and command: src/state/lock-file.ts) for as long as it works, and the second one
 * fails fast naming the holder (HISTORY_BUSY, transient: exit 75, run it again when the other is
 * done). `pgduck run` takes no such lock: it only adds files after its checkpoint, which prune never
 * deletes (docs/architecture.md#parquet-history).
 *
 * The lock sits at the top of the directory, beside the pipelines' folders: no history listing
 * reads it, and a history directory that does not exist yet is not created for it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PgduckError } from '../errors/pgduck-error.js';
import { acquireLockFile, PROCESS_LOCK_ENV, type HeldLock, type LockEnv, type LockHolder } from '../state/lock-file.js';

export const HISTORY_LOCK_FILE = '.pgduck-history.lock';

export class HistoryBusyError extends PgduckError {
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder
      ? `${holder.what ?? 'another pgduck command'} (pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt})`
      : 'another pgduck command';
    const fix = holder
      ? `run it again when that one is done; if it is gone and ${holder.host} is another host, remove ${path}`
      : `run it again when the other one is done; if none is running, remove ${path}`;
    super(`the Parquet history is busy: ${who} holds ${path}; nothing was read or deleted. ${fix[0].toUpperCase()}${fix.slice(1)}`, {
      kind: 'transient',
      code: 'HISTORY_BUSY',
      fix,
    });
    this.name = 'HistoryBusyError';
  }
}

/**
 * Lock each distinct history directory (sorted, so two commands locking several cannot deadlock
 * half-way: the second fails on the first it meets). A directory that does not exist is skipped.
 * `what` names the command for the other side's message (`pgduck replay orders`).
 */
export function lockHistory(dirs: readonly string[], what: string, env: LockEnv = PROCESS_LOCK_ENV): HeldLock[] {
  const held: HeldLock[] = [];
  try {
    for (const dir of [...new Set(dirs.map((d) => resolve(d)))].sort()) {
      if (!existsSync(dir)) continue;
      const path = join(dir, HISTORY_LOCK_FILE);
      held.push(acquireLockFile(path, what, (holder) => new HistoryBusyError(path, holder), env));
    }
  } catch (err) {
    for (const lock of held) lock.release();
    throw err;
  }
  return held;
}
