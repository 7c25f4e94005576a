/** `pgduck status`'s states and its text at 100 columns, from state-store rows (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineStatus, renderStatus, wrap, type StatusInput } from '../../src/report/status-view.js';
import type { Checkpoint, RunnerState } from '../../src/state/checkpoint-store.js';
import { encodeFailure } from '../../src/errors/recorded-failure.js';

const NOW = new Date('2026-03-02T10:00:00.000Z');
const cp = (over: Partial<Checkpoint> = {}): Checkpoint => ({
  pipeline: 'orders',
  position: { cursor: '2026-03-02 09:59:00+00', key: ['5'] },
  positionOn: { cursor: 'updated_at', key: ['id'] },
  target: null,
  rowsTotal: 120,
  batchesTotal: 2,
  bootstrapDone: true,
  updatedAt: '2026-03-02T09:59:00.000Z',
  lastStatus: 'ok',
  lastError: null,
  lastRunAt: '2026-03-02T09:59:00.000Z',
  lastSuccessAt: '2026-03-02T09:59:00.000Z',
  generation: 0,
  lastRunMs: 1234,
  lastRunRows: 20,
  lastRunBytes: 4096,
  targetRows: 100,
  targetBatches: 2,
  ...over,
});
const runner = (over: Partial<RunnerState> = {}): RunnerState => ({
  pipeline: 'orders',
  state: 'idle',
  since: null,
  attempts: 0,
  retryAt: null,
  kind: null,
  code: null,
  message: null,
  fix: null,
  updatedAt: '2026-03-02T09:59:00.000Z',
  ...over,
});
const input = (over: Partial<StatusInput> = {}): StatusInput => ({
  pipeline: 'orders',
  checkpoint: cp(),
  runner: runner(),
  runnerUp: true,
  file: { enabled: true },
  nextTick: '2026-03-02T10:00:30.000Z',
  ...over,
});

test('idle under a runner: rows in the target, the last run, the next tick', () => {
  const s = pipelineStatus(input());
  assert.equal(s.state, 'idle');
  assert.equal(s.rowsInTarget, 100);
  assert.deepEqual(s.lastRun, { at: '2026-03-02T09:59:00.000Z', status: 'ok', durationMs: 1234, rows: 20, bytes: 4096 });
  assert.equal(s.nextRun, '2026-03-02T10:00:30.000Z');
  assert.equal(s.lastError, null);
});

test('backing off: until when, which attempt, the error and its kind; the next run is the retry', () => {
  const s = pipelineStatus(
    input({
      checkpoint: cp({ lastStatus: 'failed', lastError: encodeFailure({ kind: 'transient', code: 'PG_UNREACHABLE', message: 'refused' }) }),
      runner: runner({
        state: 'backing-off',
        attempts: 3,
        since: '2026-03-02T09:58:00.000Z',
        retryAt: '2026-03-02T10:00:04.000Z',
        kind: 'transient',
        code: 'PG_UNREACHABLE',
        message: 'cannot connect: ECONNREFUSED',
      }),
    }),
  );
  assert.equal(s.state, 'backing-off');
  assert.match(s.summary, /^backing off until 2026-03-02T10:00:04.000Z \(attempt 3, transient PG_UNREACHABLE\)$/);
  assert.equal(s.nextRun, '2026-03-02T10:00:04.000Z');
  assert.deepEqual(s.lastError, { message: 'cannot connect: ECONNREFUSED', kind: 'transient', code: 'PG_UNREACHABLE', fix: null });
});

test('blocked: the reason and the fix', () => {
  const s = pipelineStatus(
    input({ runner: runner({ state: 'blocked', attempts: 1, kind: 'config', code: 'AUTH_FAILED', message: 'password refused', fix: 'check the password' }) }),
  );
  assert.equal(s.state, 'blocked');
  assert.equal(s.summary, 'blocked (config AUTH_FAILED)');
  assert.equal(s.lastError?.fix, 'check the password');
  assert.equal(s.nextRun, null, 'no probe scheduled');
});

test('no runner up: the runner rows are ignored; a failed run shows its kind; never-run and disabled', () => {
  const failed = pipelineStatus(
    input({
      runnerUp: false,
      runner: runner({ state: 'backing-off' }),
      checkpoint: cp({ lastStatus: 'failed', lastError: encodeFailure({ kind: 'config', code: 'AUTH_FAILED', message: 'password refused' }) }),
    }),
  );
  assert.equal(failed.state, 'failed');
  assert.equal(failed.summary, 'failed (config) AUTH_FAILED');
  assert.equal(failed.nextRun, null);
  assert.equal(pipelineStatus(input({ runnerUp: false, checkpoint: null, runner: null })).state, 'never-run');
  assert.equal(pipelineStatus(input({ file: { enabled: false } })).state, 'disabled');
  assert.equal(pipelineStatus(input({ runner: runner({ state: 'running' }) })).state, 'running');
});

test('the text fits 100 columns and wraps errors and fixes below their pipeline', () => {
  const long = `pipeline refunds failed in setup: cannot connect to Postgres at postgres://app:****@db.internal.example.com:5432/app_production: password authentication failed for user "app" — checkpoint not advanced; next run starts from the beginning of the table`;
  const statuses = [
    pipelineStatus(input()),
    pipelineStatus(
      input({
        pipeline: 'refunds',
        checkpoint: cp({ pipeline: 'refunds', lastStatus: 'failed', targetRows: null, rowsTotal: 0 }),
        runner: runner({
          pipeline: 'refunds',
          state: 'blocked',
          attempts: 2,
          since: '2026-03-02T09:00:00.000Z',
          kind: 'config',
          code: 'AUTH_FAILED',
          message: long,
          fix: 'check the password in the connection string (DATABASE_URL, POSTGRES_PASSWORD or source.connection)',
        }),
      }),
    ),
  ];
  const text = renderStatus(statuses, { pid: 42, host: 'box', startedAt: '2026-03-02T08:00:00.000Z', up: true }, { now: NOW, width: 100 });
  for (const line of text.trimEnd().split('\n')) assert.ok(line.length <= 100, `too wide (${line.length}): ${line}`);
  assert.match(text, /^runner: pgduck run, pid 42 on box/);
  assert.match(text, /^orders +idle +100 09:59:00 ok 1\.2 s \+20 +10:00:30$/m);
  assert.match(text, /^refunds +blocked \(config AUTH_FAILED\) +— /m);
  assert.match(text, /^ {4}\[config AUTH_FAILED\] pipeline refunds failed in setup/m);
  assert.match(text, /^ {4}fix: check the password/m);
  assert.match(text, /failing since 09:00:00, 2 attempts/);
});

test('wrap cuts words longer than a line', () => {
  const lines = wrap(`short ${'x'.repeat(50)} end`, 30, '  ');
  for (const l of lines) assert.ok(l.length <= 30, l);
  assert.equal(lines.join('').replaceAll(' ', '').length, 'short'.length + 50 + 'end'.length);
});

test('the last reconcile is shown under its pipeline: what it removed, or why it failed', () => {
  const reconciled = (over: Partial<NonNullable<StatusInput['lastReconcile']>>) => ({
    pipeline: 'orders',
    at: '2026-03-02T09:30:00.000Z',
    durationMs: 12_300,
    sourceKeys: 961,
    targetKeys: 1000,
    gone: 39,
    removed: 39,
    marked: 0,
    mode: 'remove' as const,
    stopped: false,
    rowsRead: 2100,
    error: null,
    ...over,
  });
  const removed = pipelineStatus(input({ lastReconcile: reconciled({}) }));
  assert.deepEqual(removed.lastReconcile, {
    at: '2026-03-02T09:30:00.000Z',
    durationMs: 12_300,
    gone: 39,
    removed: 39,
    marked: 0,
    mode: 'remove',
    stopped: false,
    rowsRead: 2100,
    error: null,
  });
  const text = renderStatus([removed], null, { now: NOW, width: 100 });
  assert.match(text, /^ {4}reconciled 09:30:00 \(12\.3 s\): 39 rows gone from the source, 39 removed$/m);
  const clean = renderStatus([pipelineStatus(input({ lastReconcile: reconciled({ gone: 0, removed: 0 }) }))], null, { now: NOW });
  assert.match(clean, /^ {4}reconciled 09:30:00 \(12\.3 s\): no hard deletes$/m);
  const failed = renderStatus([pipelineStatus(input({ lastReconcile: reconciled({ error: 'connection refused' }) }))], null, { now: NOW });
  assert.match(failed, /^ {4}reconciled 09:30:00 \(12\.3 s\): failed: connection refused$/m);
  // hard_delete_mode mark: the same rows, marked instead of removed; one back in the source is written.
  const marked = renderStatus([pipelineStatus(input({ lastReconcile: reconciled({ mode: 'mark', removed: 0, marked: 38 }) }))], null, { now: NOW });
  assert.match(marked, /^ {4}reconciled 09:30:00 \(12\.3 s\): 39 rows gone from the source, 38 marked, 1 back in the source and\s+written$/m);
  const stopped = renderStatus([pipelineStatus(input({ lastReconcile: reconciled({ gone: 0, removed: 0, stopped: true }) }))], null, { now: NOW });
  assert.match(stopped, /^ {4}reconciled 09:30:00 \(12\.3 s\): stopped before it finished$/m);
  assert.equal(pipelineStatus(input()).lastReconcile, null);
  assert.doesNotMatch(renderStatus([pipelineStatus(input())], null, { now: NOW }), /reconciled/);
});

test('the next reconcile (a `reconcile:` schedule) is shown under the last one while a runner is up; a failure with its kind', () => {
  const last = {
    pipeline: 'orders',
    at: '2026-03-02T09:50:00.000Z',
    durationMs: 800,
    sourceKeys: 1000,
    targetKeys: 1000,
    gone: 0,
    removed: 0,
    marked: 0,
    mode: 'remove' as const,
    stopped: false,
    rowsRead: 2000,
    error: null,
  };
  const up = pipelineStatus(input({ runner: runner(), lastReconcile: last, nextReconcile: '2026-03-02T10:00:00.000Z' }));
  assert.equal(up.nextReconcile, '2026-03-02T10:00:00.000Z');
  assert.match(renderStatus([up], null, { now: NOW }), /^ {4}reconciled 09:50:00 \(800 ms\): no hard deletes\n {4}next reconcile 10:00:00$/m);
  const first = renderStatus([pipelineStatus(input({ runner: runner(), nextReconcile: '2026-03-02T10:00:00.000Z' }))], null, { now: NOW });
  assert.match(first, /^ {4}next reconcile 10:00:00 \(never reconciled yet\)$/m);
  // No runner up: nothing will reconcile, so no next time.
  const down = pipelineStatus(input({ runner: null, runnerUp: false, lastReconcile: last, nextReconcile: '2026-03-02T10:00:00.000Z' }));
  assert.equal(down.nextReconcile, null);
  assert.doesNotMatch(renderStatus([down], null, { now: NOW }), /next reconcile/);
  const failed = pipelineStatus(
    input({ lastReconcile: { ...last, error: 'the connection to Postgres was lost', errorKind: 'transient', errorCode: 'PG_CONNECTION_LOST' } }),
  );
  assert.match(
    renderStatus([failed], null, { now: NOW }),
    /reconciled 09:50:00 \(800 ms\): failed: \[transient PG_CONNECTION_LOST\] the connection to Postgres\s+was lost/,
  );
});
