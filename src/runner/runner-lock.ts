/**
 * One runner per state directory and per DuckDB file: `pgduck run` (and `run --once`) takes a lock
 * file beside each (`<state>/pgduck-run.lock`, `<duckdb file>.pgduck-run.lock`) holding its pid, host
 * and start time, and removes them when it stops. A second runner is refused with the holder's pid
 * and host (transient, exit 75: in a rolling deploy the new runner starts once the old one is gone).
 *
 * A lock left by a runner that died is taken over with a warning when it is provably stale, never
 * one held from another host: the rules, and the lock file itself, are src/state/lock-file.ts.
 */
import { PgduckError } from '../errors/pgduck-error.js';
import { acquireLockFile, PROCESS_LOCK_ENV, type HeldLock, type LockEnv, type LockHolder } from '../state/lock-file.js';

export { PROCESS_LOCK_ENV, readLockHolder, staleReason, type HeldLock, type LockEnv, type LockHolder } from '../state/lock-file.js';

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

export function acquireRunnerLock(path: string, what: string, env: LockEnv = PROCESS_LOCK_ENV): HeldLock {
  return acquireLockFile(path, what, (holder) => new RunnerLockedError(path, holder), env);
}
