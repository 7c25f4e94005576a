/**
 * One turn per pipeline (src/runner/pipeline-turns.ts): a pipeline's sync and its reconcile never
 * overlap, the second waits; a reconcile tick while one already waits is dropped; other pipelines
 * are not held up. And the service's reconcile ticks (src/runner/pipeline-reconcile.ts) skip, with
 * the reason at DEBUG, a pipeline that is not bootstrapped, blocked or backing off.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPipelineTurns } from '../../src/runner/pipeline-turns.js';
import { createReconcileSchedules } from '../../src/runner/pipeline-reconcile.js';
import type { ResolvedPipeline } from '../../src/config/resolved-pipeline.js';
import type { HealthSnapshot, HealthState } from '../../src/runner/pipeline-health.js';
import type { CheckpointStore, ReconcileRecord } from '../../src/state/checkpoint-store.js';
import type { Logger } from '../../src/log/logger.js';
import type { Lake } from '../../src/duckdb/lake.js';

/** A task that records when it starts and ends, and ends when told. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('a sync and a reconcile of one pipeline never overlap: the second waits for the turn', async () => {
  const turns = createPipelineTurns();
  const events: string[] = [];
  let inside = 0;
  let most = 0;
  const task = (label: string, g: { opened: Promise<void> }) => async () => {
    inside++;
    most = Math.max(most, inside);
    events.push(`${label} start`);
    await g.opened;
    events.push(`${label} end`);
    inside--;
    return label;
  };
  const sync = gate();
  const reconcile = gate();
  const s = turns.take('orders', 'sync', task('sync', sync));
  const r = turns.take('orders', 'reconcile', task('reconcile', reconcile));
  await sleep(10);
  assert.deepEqual(events, ['sync start'], 'the reconcile waits while the sync holds the turn');
  assert.deepEqual(turns.state('orders'), { holder: 'sync', waiting: ['reconcile'] });
  sync.open();
  assert.deepEqual(await s, { ran: true, value: 'sync' });
  await sleep(10);
  assert.deepEqual(events, ['sync start', 'sync end', 'reconcile start']);
  // Now the other way round: a sync that comes while the reconcile runs waits for it.
  const next = gate();
  const s2 = turns.take('orders', 'sync', task('sync 2', next));
  await sleep(10);
  assert.equal(events.at(-1), 'reconcile start');
  reconcile.open();
  next.open();
  assert.deepEqual(await r, { ran: true, value: 'reconcile' });
  assert.deepEqual(await s2, { ran: true, value: 'sync 2' });
  assert.deepEqual(events, ['sync start', 'sync end', 'reconcile start', 'reconcile end', 'sync 2 start', 'sync 2 end']);
  assert.equal(most, 1, 'never two at once');
  assert.deepEqual(turns.state('orders'), { holder: null, waiting: [] });
});

test('a reconcile tick while one already waits (or runs) is dropped, not queued twice', async () => {
  const turns = createPipelineTurns();
  const sync = gate();
  let reconciles = 0;
  const reconcile = async () => {
    reconciles++;
  };
  const s = turns.take('orders', 'sync', () => sync.opened);
  const first = turns.take('orders', 'reconcile', reconcile);
  const second = await turns.take('orders', 'reconcile', reconcile);
  assert.deepEqual(second, { ran: false }, 'dropped at once, while the first waits');
  sync.open();
  await s;
  assert.deepEqual(await first, { ran: true, value: undefined });
  assert.equal(reconciles, 1);

  // While one runs, too.
  const running = gate();
  const long = turns.take('orders', 'reconcile', () => running.opened);
  await sleep(5);
  assert.deepEqual(await turns.take('orders', 'reconcile', reconcile), { ran: false });
  running.open();
  await long;
  // And once it is done, the next tick runs.
  assert.deepEqual(await turns.take('orders', 'reconcile', reconcile), { ran: true, value: undefined });
  assert.equal(reconciles, 2);
});

test('turns are per pipeline; a failed task passes the turn on', async () => {
  const turns = createPipelineTurns();
  const held = gate();
  const a = turns.take('a', 'sync', () => held.opened);
  let ranB = false;
  await turns.take('b', 'reconcile', async () => {
    ranB = true;
  });
  assert.ok(ranB, 'b does not wait for a');
  held.open();
  await a;
  const failed = turns.take('a', 'reconcile', async () => {
    throw new Error('boom');
  });
  const after = turns.take('a', 'sync', async () => 'ran');
  await assert.rejects(failed, /boom/);
  assert.deepEqual(await after, { ran: true, value: 'ran' });
});

test('two owners of one key (two pipelines writing one table across a reload) queue; the same owner is dropped', async () => {
  const turns = createPipelineTurns();
  const old = gate();
  const order: string[] = [];
  const first = turns.take(
    'table orders',
    'sync',
    async () => {
      await old.opened;
      order.push('orders_old');
    },
    'orders_old',
  );
  const second = turns.take(
    'table orders',
    'sync',
    async () => {
      order.push('orders');
    },
    'orders',
  );
  assert.deepEqual(await turns.take('table orders', 'sync', async () => {}, 'orders'), { ran: false }, 'a second sync of the same owner is dropped');
  assert.deepEqual(turns.state('table orders'), { holder: 'sync', waiting: ['sync'] });
  await sleep(5);
  assert.deepEqual(order, [], 'the new owner waits for the run in flight');
  old.open();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['orders_old', 'orders']);
});

// --- the service's reconcile ticks

function fakeLogger(lines: { level: string; msg: string }[]): Logger {
  const at = (level: string) => (_fields: object, msg: string) => lines.push({ level, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
}

function harness(opts: { state: HealthState; bootstrapDone: boolean | null; record?: Partial<ReconcileRecord> }) {
  const lines: { level: string; msg: string }[] = [];
  const calls: string[] = [];
  const turns = createPipelineTurns();
  const pipeline = { spec: { name: 'orders', reconcile: { schedule: '0 0 0 1 1 *', timezone: 'UTC' } } } as unknown as ResolvedPipeline;
  const health = { state: opts.state, streak: null, retryAt: null, generation: null } as HealthSnapshot;
  const store = { get: () => (opts.bootstrapDone === null ? null : { bootstrapDone: opts.bootstrapDone }) } as unknown as CheckpointStore;
  const reconciles = createReconcileSchedules({
    lake: {} as Lake,
    store,
    log: fakeLogger(lines),
    turns,
    limit: (fn) => fn(),
    current: () => ({ pipeline, health }),
    stopping: () => false,
    track: () => {},
    reconcile: async (p) => {
      calls.push(p.spec.name);
      return {
        pipeline: 'orders',
        at: '',
        durationMs: 1,
        sourceKeys: 9,
        targetKeys: 10,
        gone: 1,
        removed: 1,
        marked: 0,
        mode: 'remove',
        stopped: false,
        rowsRead: 20,
        error: null,
        ...opts.record,
      };
    },
  });
  reconciles.schedule(pipeline);
  assert.deepEqual(lines.splice(0), [{ level: 'info', msg: 'reconcile scheduled' }]);
  return { reconciles, lines, calls, turns, health };
}

test('a reconcile tick is skipped, with why at DEBUG, before the bootstrap and while blocked or backing off', async () => {
  for (const [state, bootstrapDone, why] of [
    ['running', null, /not finished its bootstrap/],
    ['idle', false, /not finished its bootstrap/],
    ['blocked', true, /is blocked/],
    ['backing-off', true, /backing off/],
  ] as const) {
    const h = harness({ state, bootstrapDone });
    try {
      await h.reconciles.fire('orders');
      assert.deepEqual(h.calls, [], state);
      assert.equal(h.lines.length, 1);
      assert.equal(h.lines[0].level, 'debug');
      assert.match(h.lines[0].msg, why);
    } finally {
      h.reconciles.stopAll();
    }
  }
});

test('a reconcile that found rows logs one INFO line, nothing found DEBUG, a failure its kind; it waits for a running sync', async () => {
  const found = harness({ state: 'idle', bootstrapDone: true });
  assert.ok(found.reconciles.nextRun('orders') instanceof Date, 'nextRun of the reconcile schedule');
  const sync = gate();
  const s = found.turns.take('orders', 'sync', () => sync.opened);
  const r = found.reconciles.fire('orders');
  await found.reconciles.fire('orders');
  assert.match(found.lines.at(-1)?.msg ?? '', /reconcile tick dropped/, 'the second tick, while the first waits');
  await sleep(5);
  assert.deepEqual(found.calls, [], 'waits while the sync holds the turn');
  sync.open();
  await s;
  await r;
  assert.deepEqual(found.calls, ['orders']);
  assert.deepEqual(
    found.lines.filter((l) => l.level === 'info').map((l) => l.msg),
    ['orders: reconciled: 1 row gone from the source, 1 removed'],
  );
  found.reconciles.stopAll();
  assert.equal(found.reconciles.nextRun('orders'), null);

  const nothing = harness({ state: 'idle', bootstrapDone: true, record: { gone: 0, removed: 0 } });
  await nothing.reconciles.fire('orders');
  assert.deepEqual(
    nothing.lines.map((l) => [l.level, l.msg]),
    [['debug', 'orders: reconciled: no hard deletes']],
  );
  nothing.reconciles.stopAll();

  const failed = harness({
    state: 'idle',
    bootstrapDone: true,
    record: { gone: 0, removed: 0, error: 'the connection to Postgres was lost', errorKind: 'transient', errorCode: 'PG_CONNECTION_LOST' },
  });
  await failed.reconciles.fire('orders');
  assert.equal(failed.lines.at(-1)?.level, 'warn');
  assert.match(failed.lines.at(-1)?.msg ?? '', /reconcile failed \(transient PG_CONNECTION_LOST\)/);
  assert.equal(failed.health.state, 'idle', 'the sync is not blocked by it');
  failed.reconciles.stopAll();
});

test('a pipeline whose sync went into backoff while its reconcile waited is skipped when the turn comes', async () => {
  const h = harness({ state: 'idle', bootstrapDone: true });
  const sync = gate();
  const s = h.turns.take('orders', 'sync', () => sync.opened);
  const r = h.reconciles.fire('orders');
  (h.health as { state: HealthState }).state = 'backing-off';
  sync.open();
  await s;
  await r;
  assert.deepEqual(h.calls, []);
  assert.match(h.lines.at(-1)?.msg ?? '', /skipped: the pipeline is backing off/);
  h.reconciles.stopAll();
});

test('a scheduled reconcile is told when the service stops (it checks between key ranges) and logs a stop, or what it marked', async () => {
  const lines: { level: string; msg: string }[] = [];
  let stopping = false;
  const seen: boolean[] = [];
  const pipeline = { spec: { name: 'orders', reconcile: { schedule: '0 0 0 1 1 *', timezone: 'UTC' } } } as unknown as ResolvedPipeline;
  const base = { pipeline: 'orders', at: '', durationMs: 1, sourceKeys: 9, targetKeys: 10, rowsRead: 20, error: null };
  let record: ReconcileRecord = { ...base, gone: 0, removed: 0, marked: 0, mode: 'remove', stopped: true };
  const reconciles = createReconcileSchedules({
    lake: {} as Lake,
    store: { get: () => ({ bootstrapDone: true }) } as unknown as CheckpointStore,
    log: fakeLogger(lines),
    turns: createPipelineTurns(),
    limit: (fn) => fn(),
    current: () => ({ pipeline, health: { state: 'idle', streak: null, retryAt: null, generation: null } as HealthSnapshot }),
    stopping: () => stopping,
    track: () => {},
    reconcile: async (_p, _s, opts) => {
      seen.push(opts.shouldStop());
      stopping = true; // SIGTERM arrives mid-pass
      seen.push(opts.shouldStop());
      return record;
    },
  });
  try {
    await reconciles.fire('orders');
    assert.deepEqual(seen, [false, true], 'the reconcile asks the service, live');
    assert.match(lines.filter((l) => l.level === 'info').at(-1)?.msg ?? '', /^orders: reconcile stopped before it finished/);

    stopping = false;
    record = { ...base, gone: 2, removed: 0, marked: 2, mode: 'mark', stopped: false };
    await reconciles.fire('orders');
    assert.equal(lines.filter((l) => l.level === 'info').at(-1)?.msg, 'orders: reconciled: 2 rows gone from the source, 2 marked');
  } finally {
    reconciles.stopAll();
  }
});
