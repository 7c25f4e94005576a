/** The retry policy by error kind and the per-pipeline state machine the scheduler drives (pure: no timers, no database). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY_POLICY, backoffDelay, isReminderAttempt, reactionTo, retryPolicyFromEnv } from '../../src/runner/retry-policy.js';
import { PipelineHealth, type FailureInfo } from '../../src/runner/pipeline-health.js';
import { UsageError } from '../../src/errors/usage-error.js';

const policy = { baseMs: 1000, maxMs: 60_000, blockedProbeMs: 600_000 };
const lost: FailureInfo = { kind: 'transient', code: 'PG_CONNECTION_LOST', message: 'the connection to Postgres was lost' };
const auth: FailureInfo = { kind: 'config', code: 'AUTH_FAILED', message: 'password refused', fix: 'check the password' };

test('transient and internal failures are retried; needs-action, config and usage block', () => {
  assert.deepEqual((['transient', 'internal', 'needs-action', 'config', 'usage'] as const).map(reactionTo), ['retry', 'retry', 'block', 'block', 'block']);
});

test('backoff doubles from the base up to the cap, jittered between half and all of the ceiling', () => {
  const low = (n: number) => backoffDelay(n, policy, () => 0);
  const high = (n: number) => backoffDelay(n, policy, () => 1);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20, 1000].map(high), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
  assert.deepEqual([1, 2, 3, 7].map(low), [500, 1000, 2000, 30000]);
  for (let n = 1; n < 40; n++) {
    const d = backoffDelay(n, policy, Math.random);
    assert.ok(d >= 500 && d <= 60_000, `attempt ${n}: ${d}`);
  }
});

test('reminders come at attempts 2, 4, 8, 16…: log lines grow with the logarithm of the attempts', () => {
  const reminders = Array.from({ length: 1000 }, (_, i) => i + 1).filter(isReminderAttempt);
  assert.deepEqual(reminders, [2, 4, 8, 16, 32, 64, 128, 256, 512]);
});

test('a transient streak: backing off with growing delays, logged at ERROR once, reminders at WARN, recovery ends it', () => {
  const h = new PipelineHealth(policy, () => 1);
  h.started();
  const levels: string[] = [];
  const delays: (number | null)[] = [];
  for (let i = 0; i < 5; i++) {
    const d = h.failed(lost, 10_000 + i, null);
    levels.push(d.level);
    delays.push(d.delayMs);
    assert.equal(h.snapshot.state, 'backing-off');
    assert.equal(h.onTick(10_000 + i, null), 'skip', 'cron ticks are skipped while backing off');
    assert.ok(h.retryDue());
    h.started();
  }
  assert.deepEqual(levels, ['error', 'warn', 'debug', 'warn', 'debug']);
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000]);
  assert.equal(h.snapshot.streak?.since, 10_000, 'the streak keeps its start');
  const ended = h.succeeded();
  assert.equal(ended?.attempts, 5);
  assert.equal(h.snapshot.state, 'idle');
  assert.equal(h.onTick(0, null), 'run');
  assert.equal(h.succeeded(), null, 'a success without a streak ends nothing');
});

test('a changed error is a new state: logged at ERROR again, the backoff keeps growing', () => {
  const h = new PipelineHealth(policy, () => 1);
  h.failed(lost, 0, null);
  const d = h.failed({ kind: 'transient', code: 'DUCKDB_LOCKED', message: 'locked' }, 1, null);
  assert.equal(d.level, 'error');
  assert.equal(d.delayMs, 2000);
  assert.equal(d.streak.since, 0);
});

test('a config failure blocks: no run on ticks until the generation moves (reset), the probe is due, or unblock (SIGHUP)', () => {
  const h = new PipelineHealth(policy, () => 0.5);
  const d = h.failed(auth, 1_000, 3);
  assert.equal(d.reaction, 'block');
  assert.equal(d.delayMs, null);
  assert.equal(h.snapshot.state, 'blocked');
  assert.equal(h.snapshot.retryAt, 601_000);
  assert.equal(h.retryDue(), false, 'no retry timer for a blocked pipeline');
  for (let t = 1_000; t < 601_000; t += 1_000) assert.equal(h.onTick(t, 3), 'skip');
  assert.equal(h.onTick(601_000, 3), 'run', 'the probe');
  assert.equal(h.onTick(2_000, 4), 'run', 'a reset bumped the generation');
  // The probe fails the same way: not a new state, logged quietly.
  h.started();
  assert.equal(h.failed(auth, 601_000, 3).level, 'warn');
  h.started();
  assert.equal(h.failed(auth, 1_201_000, 3).level, 'debug');
  assert.ok(h.unblock());
  assert.equal(h.snapshot.state, 'idle');
  assert.equal(h.unblock(), false);
});

test('no probe when blockedProbeMs is 0', () => {
  const h = new PipelineHealth({ ...policy, blockedProbeMs: 0 });
  h.failed(auth, 0, 0);
  assert.equal(h.snapshot.retryAt, null);
  assert.equal(h.onTick(Number.MAX_SAFE_INTEGER, 0), 'skip');
});

test('the policy reads PGDUCK_RETRY_BASE_MS, PGDUCK_RETRY_MAX_SECONDS, PGDUCK_BLOCKED_RETRY_SECONDS; nonsense is a usage error', () => {
  assert.deepEqual(retryPolicyFromEnv({}), DEFAULT_RETRY_POLICY);
  assert.deepEqual(retryPolicyFromEnv({ PGDUCK_RETRY_BASE_MS: '100', PGDUCK_RETRY_MAX_SECONDS: '2', PGDUCK_BLOCKED_RETRY_SECONDS: '0' }), {
    baseMs: 100,
    maxMs: 2000,
    blockedProbeMs: 0,
  });
  assert.equal(retryPolicyFromEnv({ PGDUCK_RETRY_BASE_MS: '5000', PGDUCK_RETRY_MAX_SECONDS: '1' }).maxMs, 5000, 'the cap is never below the base');
  for (const bad of [
    { PGDUCK_RETRY_BASE_MS: 'soon' },
    { PGDUCK_RETRY_BASE_MS: '0' },
    { PGDUCK_RETRY_MAX_SECONDS: '-1' },
    { PGDUCK_BLOCKED_RETRY_SECONDS: '1m' },
  ]) {
    assert.throws(() => retryPolicyFromEnv(bad), UsageError, JSON.stringify(bad));
  }
});
