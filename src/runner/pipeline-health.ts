/**
 * One pipeline's state in the service, as a small state machine the scheduler drives:
 *
 *   idle ──tick──▶ running ──ok──▶ idle
 *                     │
 *                     ├─failed, transient/internal──▶ backing-off ──retry timer──▶ running
 *                     └─failed, needs-action/config──▶ blocked ──file/state changed, SIGHUP, probe──▶ running
 *
 * A failure streak (the failures since the last success) carries the attempt count the backoff
 * grows with and decides how loudly each failure is logged: the first one and a changed error at
 * ERROR, reminders at attempts 2, 4, 8… at WARN, the rest at DEBUG; the success that ends a streak at
 * INFO. Pure: the caller passes the clock (ms) and the random source.
 */
import type { ErrorKind } from '../errors/pgduck-error.js';
import { backoffDelay, isReminderAttempt, reactionTo, type Reaction, type RetryPolicy } from './retry-policy.js';

export type HealthState = 'idle' | 'running' | 'backing-off' | 'blocked';

export interface FailureInfo {
  kind: ErrorKind;
  code: string;
  /** Already cleaned of secrets. */
  message: string;
  fix?: string;
}

export interface Streak extends FailureInfo {
  /** When the first failure of the streak happened (ms). */
  since: number;
  /** Failures in a row, this one included. */
  attempts: number;
}

export interface HealthSnapshot {
  state: HealthState;
  streak: Streak | null;
  /** backing-off: when the retry runs; blocked: when the next probe is due (null: no probe). */
  retryAt: number | null;
  /** blocked: the checkpoint generation it was blocked at (a `pgduck reset` bumps it). */
  generation: number | null;
  /**
   * When it became blocked (ms), kept while a probe or a SIGHUP runs it again and it stays blocked;
   * null once it succeeds or fails transiently. /healthz turns unhealthy on it (src/runner/service-health.ts).
   */
  blockedSince: number | null;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface FailureDecision {
  reaction: Reaction;
  /** backing-off: ms until the retry. */
  delayMs: number | null;
  level: LogLevel;
  streak: Streak;
}

export class PipelineHealth {
  private s: HealthSnapshot = { state: 'idle', streak: null, retryAt: null, generation: null, blockedSince: null };

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  get snapshot(): Readonly<HealthSnapshot> {
    return this.s;
  }

  /**
   * A cron tick: run now, or skip it. Backing off, the retry timer runs it; blocked, it runs when the
   * checkpoint generation moved (a reset) or the probe is due.
   */
  onTick(now: number, generation: number | null): 'run' | 'skip' {
    switch (this.s.state) {
      case 'idle':
        return 'run';
      case 'running':
      case 'backing-off':
        return 'skip';
      case 'blocked':
        if (generation !== this.s.generation) return 'run';
        return this.s.retryAt !== null && now >= this.s.retryAt ? 'run' : 'skip';
    }
  }

  /** The retry timer fired. */
  retryDue(): boolean {
    return this.s.state === 'backing-off';
  }

  /** Someone acted (SIGHUP): a blocked pipeline runs at its next tick; the streak stays, so the same failure is not logged as new. */
  unblock(): boolean {
    if (this.s.state !== 'blocked') return false;
    this.s = { ...this.s, state: 'idle', retryAt: null, generation: null };
    return true;
  }

  started(): void {
    this.s = { ...this.s, state: 'running', retryAt: null };
  }

  /** The run succeeded: returns the streak it ended, if any (to log the recovery once). */
  succeeded(): Streak | null {
    const ended = this.s.streak;
    this.s = { state: 'idle', streak: null, retryAt: null, generation: null, blockedSince: null };
    return ended;
  }

  failed(failure: FailureInfo, now: number, generation: number | null): FailureDecision {
    const prev = this.s.streak;
    const attempts = (prev?.attempts ?? 0) + 1;
    const changed = !prev || prev.code !== failure.code || prev.kind !== failure.kind;
    const streak: Streak = { ...failure, since: prev?.since ?? now, attempts };
    const reaction = reactionTo(failure.kind);
    const level: LogLevel = changed ? 'error' : isReminderAttempt(attempts) ? 'warn' : 'debug';
    if (reaction === 'retry') {
      const delayMs = backoffDelay(attempts, this.policy, this.random);
      this.s = { state: 'backing-off', streak, retryAt: now + delayMs, generation: null, blockedSince: null };
      return { reaction, delayMs, level, streak };
    }
    const probe = this.policy.blockedProbeMs > 0 ? now + this.policy.blockedProbeMs : null;
    this.s = { state: 'blocked', streak, retryAt: probe, generation, blockedSince: this.s.blockedSince ?? now };
    return { reaction, delayMs: null, level, streak };
  }
}
