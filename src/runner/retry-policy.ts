/**
 * What `pgduck run` (the service) does after a pipeline's run fails, decided by the failure's kind
 * (src/errors/pgduck-error.ts) and nothing else:
 *
 *   transient, internal   retried on a timer of its own, not on the next cron tick: exponential
 *                         backoff (base · 2^(attempt-1), capped) with jitter, for as long as it keeps
 *                         failing. Cron ticks are skipped meanwhile, so a per-second schedule cannot
 *                         turn the backoff into a storm. (internal: an unforeseen error may well be a
 *                         hiccup; it is still logged at ERROR.)
 *   needs-action, config, usage
 *                         blocked: no retry until the pipeline's file changes, its state changes
 *                         (`pgduck reset`, which bumps the checkpoint generation), SIGHUP, or — so a
 *                         source fixed by hand is noticed without anyone signalling — one probe run
 *                         every `blockedProbeMs` (default 15 min; 0: never). A wrong password costs
 *                         one connection attempt per probe, never a storm.
 *
 * Pure: the clock and the random source are the caller's, so the tests need no timers.
 */
import type { ErrorKind } from '../errors/pgduck-error.js';
import { UsageError } from '../errors/usage-error.js';

export interface RetryPolicy {
  /** First retry after about this long (jittered between half and all of it). */
  baseMs: number;
  /** No retry waits longer than this. */
  maxMs: number;
  /** A blocked pipeline is tried again this often anyway; 0: only when its file or state changes (or SIGHUP). */
  blockedProbeMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { baseMs: 1_000, maxMs: 60_000, blockedProbeMs: 15 * 60_000 };

export type Reaction = 'retry' | 'block';

export function reactionTo(kind: ErrorKind): Reaction {
  return kind === 'transient' || kind === 'internal' ? 'retry' : 'block';
}

/**
 * How long to wait after the `attempt`-th failure in a row (1-based): the ceiling doubles from
 * `baseMs` up to `maxMs`, and the wait is drawn between half the ceiling and the ceiling ("equal
 * jitter": pipelines that failed together do not retry together, and none retries at once).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A streak of failures is logged when it starts and when its error changes; in between, a reminder
 * at attempts 2, 4, 8, 16…: a log line count that grows with the logarithm of the attempts, never
 * one line per attempt.
 */
export function isReminderAttempt(attempt: number): boolean {
  return attempt >= 2 && (attempt & (attempt - 1)) === 0;
}

/**
 * PGDUCK_RETRY_BASE_MS, PGDUCK_RETRY_MAX_SECONDS and PGDUCK_BLOCKED_RETRY_SECONDS (README
 * "Configuration"); anything else is a usage error before anything starts.
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const read = (name: string, fallback: number, scale: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return Math.round(fallback * scale);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(raw) || Number(raw) * scale < min) {
      throw new UsageError(`${name} must be a number${min > 0 ? ` of at least ${min / scale}` : ' (0 or more)'}, got ${JSON.stringify(raw)}`);
    }
    return Math.round(Number(raw) * scale);
  };
  const baseMs = read('PGDUCK_RETRY_BASE_MS', DEFAULT_RETRY_POLICY.baseMs, 1, 1);
  const maxMs = Math.max(baseMs, read('PGDUCK_RETRY_MAX_SECONDS', DEFAULT_RETRY_POLICY.maxMs / 1000, 1000, 1));
  const blockedProbeMs = read('PGDUCK_BLOCKED_RETRY_SECONDS', DEFAULT_RETRY_POLICY.blockedProbeMs / 1000, 1000, 0);
  return { baseMs, maxMs, blockedProbeMs };
}
