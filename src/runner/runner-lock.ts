/**
 * One runner per state directory and per DuckDB file: `pgduck run` (and `run --once`) takes a lock
 * file beside each (`<state>/pgduck-run.lock`, `<duckdb file>.pgduck-run.lock`) holding its pid, host
 * and start time, and removes them when it stops. A second runner is refused with the holder's pid
 * and host (transient, exit 75: in a rolling deploy the new runner starts once the old one is gone).
 *
 * A lock left by a runner that died without removing it (SIGKILL, a power cut) is taken over with a
 * warning when it is provably stale: same host, and its pid is not running, or is this very
 * process (a container restarted as pid 1 again), or is a process that is not pgduck (the pid was
 * reused; Linux only, from /proc). A lock held from another host is never taken over: remove it by
 * hand once that runner is gone.
 *
 * Created with O_EXCL (`wx`), so two runners starting at once cannot both win.
 */
import { hostname } from 'node:os';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { PgduckError } from '../errors/pgduck-error.js';

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

export class RunnerLockedError extends PgduckError {
  constructor(
    readonly path: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `another pgduck run (pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt})` : 'another pgduck run';
    const fix = holder
      ? `stop that runner first (one writer per state directory and DuckDB file); if it is gone and ${holder.host} is another host, remove ${path}`
      : `stop the other runner first; if none is running, remove ${path}`;
    super(`${who} holds ${path}: ${fix}`, { kind: 'transient', code: 'RUNNER_LOCKED', fix });
    this.name = 'RunnerLockedError';
  }
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

export function acquireRunnerLock(path: string, what: string, env: LockEnv = PROCESS_LOCK_ENV): HeldLock {
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
      if (!holder) throw new RunnerLockedError(path, null);
      if (staleReason(holder, env) === null) throw new RunnerLockedError(path, holder);
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
        // Only our own: never remove a lock another runner took over meanwhile.
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
  throw new RunnerLockedError(path, readLockHolder(path));
}
