/**
 * The health decision behind /healthz and pgduck_healthy (src/runner/service-health.ts), pure: a
 * pipeline blocked longer than the threshold makes the service unhealthy, naming it and its code;
 * backing off never does; starting and stopping do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PipelineHealth, type FailureInfo } from '../../src/runner/pipeline-health.js';
import type { RetryPolicy } from '../../src/runner/retry-policy.js';
import type { PipelineView } from '../../src/runner/scheduler.js';
import { DEFAULT_HEALTH_BLOCKED_SECONDS, healthBlockedSecondsFrom, judgeHealth, summarizeHealth } from '../../src/runner/service-health.js';

const policy: RetryPolicy = { baseMs: 1000, maxMs: 60_000, blockedProbeMs: 600_000 };
const missing: FailureInfo = {
  kind: 'needs-action',
  code: 'SOURCE_TABLE_MISSING',
  message: 'source table public.items does not exist',
  fix: 'create it, or remove pipelines/items.yml',
};
const lost: FailureInfo = { kind: 'transient', code: 'PG_CONNECTION_LOST', message: 'the connection to Postgres was lost' };
const view = (pipeline: string, h: PipelineHealth): PipelineView => ({ pipeline, health: h.snapshot, nextRun: new Date(0), nextReconcile: null });

test('blocked longer than the threshold: unhealthy, naming the pipeline, its kind and code; not before', () => {
  const items = new PipelineHealth(policy, () => 1);
  items.started();
  items.failed(missing, 100_000, 0);
  const fine = new PipelineHealth(policy, () => 1);
  const views = [view('items', items), view('orders', fine)];

  const early = judgeHealth(views, { phase: 'running', now: 100_000 + 300_000, blockedSeconds: 300 });
  assert.equal(early.healthy, true, 'blocked exactly the threshold is still healthy');
  assert.equal(early.status, 'ok');
  assert.deepEqual(early.blocked, []);
  assert.equal(early.pipelines.find((p) => p.pipeline === 'items')?.state, 'blocked');
  assert.equal(early.pipelines.find((p) => p.pipeline === 'items')?.blockedSince, new Date(100_000).toISOString());

  const late = judgeHealth(views, { phase: 'running', now: 100_000 + 300_001, blockedSeconds: 300 });
  assert.equal(late.healthy, false);
  assert.equal(late.status, 'blocked');
  assert.deepEqual(late.blocked, [
    {
      pipeline: 'items',
      kind: 'needs-action',
      code: 'SOURCE_TABLE_MISSING',
      blockedSince: new Date(100_000).toISOString(),
      blockedSeconds: 300,
      message: missing.message,
      fix: missing.fix,
    },
  ]);
  assert.deepEqual(
    late.pipelines.map((p) => [p.pipeline, p.state, p.failing?.code ?? null]),
    [
      ['items', 'blocked', 'SOURCE_TABLE_MISSING'],
      ['orders', 'idle', null],
    ],
  );
  assert.match(summarizeHealth(late), /^unhealthy: items blocked for 300 s \(needs-action SOURCE_TABLE_MISSING\)$/);
});

test('a probe that fails the same way keeps the time it was first blocked; a success or a transient failure ends it', () => {
  const h = new PipelineHealth(policy, () => 1);
  h.started();
  h.failed(missing, 1_000, 0);
  h.unblock(); // SIGHUP
  h.started();
  h.failed(missing, 500_000, 0);
  assert.equal(h.snapshot.blockedSince, 1_000);
  assert.equal(judgeHealth([view('items', h)], { phase: 'running', now: 500_000, blockedSeconds: 300 }).healthy, false);
  h.started();
  h.failed(lost, 600_000, null);
  assert.equal(h.snapshot.state, 'backing-off');
  assert.equal(h.snapshot.blockedSince, null);
  assert.equal(judgeHealth([view('items', h)], { phase: 'running', now: 10_000_000, blockedSeconds: 0 }).healthy, true, 'backing off heals by itself');
  h.started();
  h.failed(missing, 700_000, 0);
  assert.equal(h.snapshot.blockedSince, 700_000, 'blocked again: from now');
  h.started();
  h.succeeded();
  assert.equal(h.snapshot.blockedSince, null);
});

test('starting and stopping are unhealthy; a threshold of 0 makes any blocked pipeline unhealthy at once', () => {
  const h = new PipelineHealth(policy, () => 1);
  assert.equal(judgeHealth([view('a', h)], { phase: 'starting', now: 0, blockedSeconds: 300 }).status, 'starting');
  const stopping = judgeHealth([view('a', h)], { phase: 'stopping', now: 0, blockedSeconds: 300 });
  assert.deepEqual([stopping.healthy, stopping.status], [false, 'stopping']);
  h.started();
  h.failed(missing, 1_000, 0);
  assert.equal(judgeHealth([view('a', h)], { phase: 'running', now: 1_001, blockedSeconds: 0 }).healthy, false);
  assert.equal(judgeHealth([], { phase: 'running', now: 0, blockedSeconds: 0 }).healthy, true, 'no pipeline scheduled: nothing is blocked');
});

test('PGDUCK_HEALTH_BLOCKED_SECONDS: a whole number of seconds, default 300', () => {
  assert.equal(healthBlockedSecondsFrom({}), DEFAULT_HEALTH_BLOCKED_SECONDS);
  assert.equal(DEFAULT_HEALTH_BLOCKED_SECONDS, 300);
  assert.equal(healthBlockedSecondsFrom({ PGDUCK_HEALTH_BLOCKED_SECONDS: '0' }), 0);
  assert.equal(healthBlockedSecondsFrom({ PGDUCK_HEALTH_BLOCKED_SECONDS: ' 60 ' }), 60);
  for (const bad of ['-1', '1.5', '5m', 'x']) {
    assert.throws(
      () => healthBlockedSecondsFrom({ PGDUCK_HEALTH_BLOCKED_SECONDS: bad }),
      /PGDUCK_HEALTH_BLOCKED_SECONDS must be a whole number of seconds/,
      bad,
    );
  }
});
