/**
 * The service's HTTP endpoints (src/runner/health-server.ts) on a real socket, fed through the same
 * hooks the runner calls, with a scheduler view of real PipelineHealth state machines (no database):
 * /metrics parsed as Prometheus text, /healthz 200 → 503 when a pipeline stays blocked, series of a
 * removed pipeline gone, 503 while stopping, and an address in use refused as LISTEN_UNAVAILABLE.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startServiceEndpoints, type ServiceEndpoints } from '../../src/runner/health-server.js';
import { PipelineHealth } from '../../src/runner/pipeline-health.js';
import type { PipelineView } from '../../src/runner/scheduler.js';
import type { PipelineOutcome } from '../../src/runner/pool.js';
import { PgduckError } from '../../src/errors/pgduck-error.js';
import { newBatch } from '../../src/stages/stage.js';
import { cursorTimeMs } from '../../src/runner/cursor-time.js';
import { parsePrometheusText, select, sampleValue } from '../support/prometheus-text.js';

const silent = pino({ level: 'silent' });
const policy = { baseMs: 1000, maxMs: 60_000, blockedProbeMs: 0 };
let clock = Date.parse('2026-03-01T12:00:00Z');
const opened: ServiceEndpoints[] = [];
after(async () => {
  for (const e of opened) await e.close();
});

async function start(blockedSeconds = 60) {
  const e = await startServiceEndpoints({ address: { host: '127.0.0.1', port: 0 }, blockedSeconds, log: silent, now: () => clock });
  opened.push(e);
  return e;
}

const get = async (e: ServiceEndpoints, path: string) => {
  const res = await fetch(`http://127.0.0.1:${e.address.port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
};

function batch(rows: number, bytes: number, cursor: string) {
  const b = newBatch(1, { phase: 'cursor', from: null });
  b.rowCount = rows;
  b.parquetBytes = bytes;
  b.last = { cursor, key: ['1'] };
  return b;
}

const ok = (pipeline: string, stageMs: Record<string, number>): PipelineOutcome => ({
  pipeline,
  ok: true,
  summary: { pipeline, batches: 1, rows: 1, upserted: 1, bytes: 1, durationMs: 1, position: null, bootstrapDone: true },
  stats: { bytes: 1, stageMs },
});
const failed = (pipeline: string, error: PgduckError): PipelineOutcome => ({
  pipeline,
  ok: false,
  error,
  message: error.message,
  kind: error.kind,
  code: error.code,
});

test('the Prometheus text parser reads escapes, special values and types, and rejects garbage', () => {
  const e = parsePrometheusText(
    ['# HELP a_total x', '# TYPE a_total counter', 'a_total{p="q\\"uote\\\\d\\nl",b="2"} 3 1700000000', 'g +Inf', 'h NaN', 'i -1.5e3', ''].join('\n'),
  );
  assert.deepEqual(e.samples[0], { name: 'a_total', labels: { p: 'q"uote\\d\nl', b: '2' }, value: 3 });
  assert.equal(sampleValue(e, 'g'), Infinity);
  assert.ok(Number.isNaN(sampleValue(e, 'h')));
  assert.equal(sampleValue(e, 'i'), -1500);
  assert.equal(e.types.get('a_total'), 'counter');
  assert.throws(() => parsePrometheusText('a{b=c} 1'), /bad label/);
  assert.throws(() => parsePrometheusText('a one'), /bad value/);
  assert.throws(() => sampleValue(e, 'missing'), /found 0/);
});

test('a timestamptz cursor as Postgres prints it becomes a time; other cursors do not', () => {
  assert.equal(cursorTimeMs('2026-03-01 11:59:00.123456+00', 'timestamptz', null), Date.parse('2026-03-01T11:59:00.123Z'));
  assert.equal(cursorTimeMs('2026-03-01 13:59:00+02', 'timestamptz', null), Date.parse('2026-03-01T11:59:00Z'));
  assert.equal(cursorTimeMs('2026-03-01 06:29:00-05:30', 'timestamptz', null), Date.parse('2026-03-01T11:59:00Z'));
  assert.equal(cursorTimeMs('42', 'timestamptz', null), null);
  assert.equal(cursorTimeMs('2026-03-01 11:59:00', 'timestamptz', null), null, 'no offset: not a timestamptz as Postgres prints it');
  assert.equal(cursorTimeMs('infinity', 'timestamptz', null), null);
});

test('/metrics counts what the hooks report, per pipeline; /healthz turns 503 naming a pipeline blocked too long; a removed pipeline loses its series', async () => {
  const e = await start(60);
  const items = new PipelineHealth(policy, () => 1);
  const orders = new PipelineHealth(policy, () => 1);
  let views: PipelineView[] = [
    { pipeline: 'items', health: items.snapshot, nextRun: null, nextReconcile: null },
    { pipeline: 'orders', health: orders.snapshot, nextRun: null, nextReconcile: null },
  ];
  assert.equal((await get(e, '/healthz')).status, 503, 'starting: the scheduler is not attached yet');
  e.attach(() => views.map((v) => ({ ...v, health: v.pipeline === 'items' ? items.snapshot : orders.snapshot })));

  let m = parsePrometheusText((await get(e, '/metrics')).body);
  assert.equal(sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'items' }), 0, 'a scheduled pipeline starts at 0');
  assert.equal(sampleValue(m, 'pgduck_runs_total', { pipeline: 'orders', outcome: 'failed' }), 0);
  assert.equal(sampleValue(m, 'pgduck_healthy'), 1);
  assert.ok(select(m, 'process_resident_memory_bytes').length + select(m, 'nodejs_heap_size_used_bytes').length > 0, 'default process metrics');

  e.onBatch('items', batch(1000, 4096, '2026-03-01 11:58:00+00'));
  e.onBatch('items', batch(250, 1024, '2026-03-01 11:59:00+00'));
  e.onBatch('items', batch(0, 0, '2026-03-01 11:59:30+00')); // an empty batch (drained) counts nothing
  // An empty batch whose drift check ran a backfill: its files are bytes written, not a batch nor rows.
  const backfillOnly = batch(0, 0, '2026-03-01 11:59:40+00');
  backfillOnly.backfillBytes = 2048;
  e.onBatch('items', backfillOnly);
  e.onOutcome(ok('items', { read: 1500, upsert: 20 }), items.snapshot);
  const res = await get(e, '/metrics');
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  m = parsePrometheusText(res.body);
  assert.equal(sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'items' }), 1250);
  assert.equal(sampleValue(m, 'pgduck_batches_total', { pipeline: 'items' }), 2);
  assert.equal(sampleValue(m, 'pgduck_parquet_bytes_written_total', { pipeline: 'items' }), 4096 + 1024 + 2048);
  assert.equal(sampleValue(m, 'pgduck_runs_total', { pipeline: 'items', outcome: 'ok' }), 1);
  assert.equal(sampleValue(m, 'pgduck_lag_seconds', { pipeline: 'items' }), 60, 'now minus the newest cursor synced');
  assert.equal(sampleValue(m, 'pgduck_last_success_timestamp_seconds', { pipeline: 'items' }), clock / 1000);
  assert.equal(sampleValue(m, 'pgduck_stage_duration_seconds_count', { pipeline: 'items', stage: 'read' }), 1);
  assert.equal(sampleValue(m, 'pgduck_stage_duration_seconds_sum', { pipeline: 'items', stage: 'read' }), 1.5);
  assert.equal(sampleValue(m, 'pgduck_stage_duration_seconds_bucket', { pipeline: 'items', stage: 'read', le: '1' }), 0);
  assert.equal(sampleValue(m, 'pgduck_stage_duration_seconds_bucket', { pipeline: 'items', stage: 'read', le: '2.5' }), 1);
  assert.equal(sampleValue(m, 'pgduck_pipeline_state', { pipeline: 'items', state: 'idle' }), 1);
  assert.equal(m.types.get('pgduck_stage_duration_seconds'), 'histogram');
  assert.equal(select(m, 'pgduck_lag_seconds', { pipeline: 'orders' }).length, 0, 'no cursor synced: no lag');

  // orders fails transiently twice (two retries), then is blocked.
  const lost = new PgduckError('the connection to Postgres was lost', { kind: 'transient', code: 'PG_CONNECTION_LOST' });
  for (const at of [1, 2]) {
    orders.started();
    orders.failed({ kind: 'transient', code: 'PG_CONNECTION_LOST', message: lost.message }, clock + at, null);
    e.onOutcome(failed('orders', lost), orders.snapshot);
  }
  const gone = new PgduckError('source table public.orders does not exist', { kind: 'needs-action', code: 'SOURCE_TABLE_MISSING', fix: 'create it' });
  orders.started();
  orders.failed({ kind: 'needs-action', code: 'SOURCE_TABLE_MISSING', message: gone.message, fix: gone.fix }, clock, 0);
  e.onOutcome(failed('orders', gone), orders.snapshot);
  m = parsePrometheusText((await get(e, '/metrics')).body);
  assert.equal(sampleValue(m, 'pgduck_errors_total', { pipeline: 'orders', kind: 'transient', code: 'PG_CONNECTION_LOST' }), 2);
  assert.equal(sampleValue(m, 'pgduck_errors_total', { pipeline: 'orders', kind: 'needs-action', code: 'SOURCE_TABLE_MISSING' }), 1);
  assert.equal(sampleValue(m, 'pgduck_retries_total', { pipeline: 'orders' }), 2);
  assert.equal(sampleValue(m, 'pgduck_runs_total', { pipeline: 'orders', outcome: 'failed' }), 3);
  assert.equal(sampleValue(m, 'pgduck_pipeline_state', { pipeline: 'orders', state: 'blocked' }), 1);
  assert.equal(sampleValue(m, 'pgduck_pipeline_state', { pipeline: 'orders', state: 'idle' }), 0);
  assert.equal(sampleValue(m, 'pgduck_healthy'), 1, 'blocked, but not for longer than 60 s yet');
  assert.equal((await get(e, '/healthz')).status, 200);

  clock += 61_000;
  const h = await get(e, '/healthz');
  assert.equal(h.status, 503);
  assert.equal(h.type, 'application/json');
  const body = JSON.parse(h.body);
  assert.equal(body.status, 'blocked');
  assert.deepEqual(
    body.blocked.map((b: { pipeline: string; code: string; kind: string; fix: string }) => [b.pipeline, b.kind, b.code, b.fix]),
    [['orders', 'needs-action', 'SOURCE_TABLE_MISSING', 'create it']],
  );
  assert.match(body.summary, /orders blocked for 61 s \(needs-action SOURCE_TABLE_MISSING\)/);
  assert.equal(sampleValue(parsePrometheusText((await get(e, '/metrics')).body), 'pgduck_healthy'), 0);

  // orders' file removed: every series of it goes; healthy again.
  views = views.filter((v) => v.pipeline !== 'orders');
  m = parsePrometheusText((await get(e, '/metrics')).body);
  assert.deepEqual(
    m.samples.filter((s) => s.labels.pipeline === 'orders'),
    [],
  );
  assert.equal(sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'items' }), 1250, 'the others keep theirs');
  assert.equal((await get(e, '/healthz')).status, 200);

  e.stopping();
  const stopping = await get(e, '/healthz');
  assert.equal(stopping.status, 503);
  assert.equal(JSON.parse(stopping.body).status, 'stopping');
  assert.equal((await get(e, '/nope')).status, 404);
});

test('an address in use is LISTEN_UNAVAILABLE (kind config), naming the address and the fix', async () => {
  const first = await start();
  await assert.rejects(startServiceEndpoints({ address: { host: '127.0.0.1', port: first.address.port }, blockedSeconds: 1, log: silent }), (err: unknown) => {
    assert.ok(err instanceof PgduckError);
    assert.deepEqual([err.kind, err.code], ['config', 'LISTEN_UNAVAILABLE']);
    assert.equal(
      err.message,
      `cannot serve /healthz and /metrics on 127.0.0.1:${first.address.port}: 127.0.0.1:${first.address.port} is already in use (another process listens there: another pgduck run, or another service)`,
    );
    assert.match(err.fix ?? '', /--listen or PGDUCK_LISTEN/);
    return true;
  });
});
