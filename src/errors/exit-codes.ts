/**
 * The one table from an error's kind to what a user sees: the process exit code and the status
 * `pgduck status` shows for a failed run. Documented in README "Exit codes"; test/errors/exit-codes.unit.test.ts
 * holds it to that.
 *
 * Why these numbers: 1 stays the generic failure (an unforeseen error, and also verify's "tables
 * differ"), 2 stays the usage error it always was, 3 and 4 tell a scheduler "a person must act", and
 * 75 is sysexits' EX_TEMPFAIL, which cron wrappers and systemd (RestartForceExitStatus) already read
 * as "try again later".
 */
import type { ErrorKind } from './pgduck-error.js';

export interface KindOutcome {
  exitCode: number;
  /** What `pgduck status` shows for a run that failed with this kind. */
  status: string;
}

export const KIND_OUTCOMES: Readonly<Record<ErrorKind, KindOutcome>> = {
  internal: { exitCode: 1, status: 'failed (internal)' },
  usage: { exitCode: 2, status: 'failed (usage)' },
  config: { exitCode: 3, status: 'failed (config)' },
  'needs-action': { exitCode: 4, status: 'failed (needs action)' },
  transient: { exitCode: 75, status: 'failed (transient)' },
};

/**
 * When several pipelines fail differently, the exit code is that of the kind most in need of a
 * person: configuration first, then data/environment, then bugs; 75 only when every failure was
 * transient (so a retry loop never hides a failure a person must fix).
 */
const URGENCY: readonly ErrorKind[] = ['usage', 'config', 'needs-action', 'internal', 'transient'];

export function exitCodeFor(kinds: Iterable<ErrorKind>): number {
  const seen = new Set(kinds);
  for (const kind of URGENCY) if (seen.has(kind)) return KIND_OUTCOMES[kind].exitCode;
  return 0;
}
