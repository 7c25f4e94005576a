/**
 * A lock file holding its holder's pid, host, start time and what it does: one process at a time
 * for something on disk. `pgduck run` takes one per state directory and DuckDB file
 * (src/runner/runner-lock.ts), `pgduck history prune` and `pgduck replay` one per Parquet history
 * directory (src/history/history-lock.ts). The caller says what a refusal is (its error, its kind).
 *
 * A lock left by a process that died without removing it (SIGKILL, a power cut) is taken over
 * (`tookOverFrom`, the caller warns) when it is provably stale: same host, and its pid is not
 * running, or is this very process (a container restarted as pid 1 again), or is a process that is
 * not pgduck (the pid was reused; Linux only, from /proc). A lock held from another host is never
 * taken over: remove it by hand once that process is gone.
 *
 * Created with O_EXCL (`wx`), so two processes starting at once cannot both win.
 */
import { hostname } from 'node:os';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  /** What it locks, for the message. */
  what?: string;
}

export interface HeldLock {
  path: string;
  /** The stale holder this lock was taken over from, if any (the caller warns). */
  tookOverFrom: LockHolder | null;
  release(): void;
}

export interface LockEnv {
  pid: number;
  host: string;
  /** Is this pid a running process? */
  alive(pid: number): boolean;
  /** Its command line, when the platform says (null: unknown). */
  commandLine(pid: number): string | null;
}

export const PROCESS_LOCK_ENV: LockEnv = {
  pid: process.pid,
  host: hostname(),
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  commandLine(pid) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      return null;
    }
  },
};

/** Why a holder is stale, or null when it may still be running. Pure given `env`. */
export function staleReason(holder: LockHolder, env: LockEnv): string | null {
  if (holder.host !== env.host) return null;
  if (holder.pid === env.pid) return 'its pid is this process (restarted under the same pid)';
  if (!env.alive(holder.pid)) return 'its process is gone';
  const cmd = env.commandLine(holder.pid);
  if (cmd !== null && !/pgduck|cli\.[jt]s/.test(cmd)) return 'its pid now belongs to another program';
  return null;
}

export function readLockHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt ?? '?'), what: parsed.what };
  } catch {
    return null;
  }
}

/**
 * Take the lock at `path`, or throw `refuse(holder)` (holder null: the file cannot be read, being
 * written this very moment or garbage). release() removes it only while it is still ours.
 */
export function acquireLockFile(path: string, what: string, refuse: (holder: LockHolder | null) => Error, env: LockEnv = PROCESS_LOCK_ENV): HeldLock {
  const me: LockHolder = { pid: env.pid, host: env.host, startedAt: new Date().toISOString(), what };
  let tookOverFrom: LockHolder | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLockHolder(path);
      // Unreadable (being written this very moment, or garbage): refuse rather than guess.
      if (!holder) throw refuse(null);
      if (staleReason(holder, env) === null) throw refuse(holder);
      tookOverFrom = holder;
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      path,
      tookOverFrom,
      release() {
        // Only our own: never remove a lock another process took over meanwhile.
        const holder = readLockHolder(path);
        if (holder && holder.pid === me.pid && holder.host === me.host && holder.startedAt === me.startedAt) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
      },
    };
  }
  throw refuse(readLockHolder(path));
}
