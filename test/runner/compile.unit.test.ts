import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, nextFireTimes } from '../../src/runner/compile.js';
import { isWidening } from '../../src/schema/type-change.js';
import { buildUpsertSql } from '../../src/stages/upsert.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';

const spec: PipelineSpec = {
  name: 'lines',
  file: 'pipelines/lines.yml',
  source: {
    schema: 'public',
    table: 'Order Items; drop',
    primaryKey: ['invoice_id', 'line_no'],
    cursor: 'updated_at',
    softDeleteMode: 'keep',
    nullCursor: 'include',
    onRecreate: 'stop',
    hardDeleteMode: 'remove',
    softDelete: 'deleted_at',
  },
  target: { schema: 'main', table: 'lines' },
  batchSize: 500,
  schedule: '*/30 * * * * *',
  timezone: 'Europe/Berlin',
  enabled: true,
  schemaEvolution: 'evolve',
  horizon: { marginMs: 1000, lookbackSeconds: 300 },
};

test('compile is pure data: stages in order, keyset SQL on (cursor, key…), quoted identifiers', () => {
  const plan = compile(spec, { duckdbPath: 'lake/warehouse.duckdb', now: new Date('2026-03-29T00:59:50Z') });
  assert.deepEqual(
    plan.steps.map((s) => s.stage),
    ['extract', 'parquet', 'drift-check', 'compact', 'backfill', 'upsert', 'checkpoint'],
  );
  const sql = (plan.steps[0].sql as Record<string, string>)['next batches'];
  assert.match(sql, /FROM "public"\."Order Items; drop"/);
  assert.match(sql, /WHERE \("updated_at", "invoice_id", "line_no"\) > \(\$1::<type of updated_at>, \$2::<type of invoice_id>, \$3::<type of line_no>\)/);
  assert.match(
    sql,
    /ORDER BY "public"\."Order Items; drop"\."updated_at", "public"\."Order Items; drop"\."invoice_id", "public"\."Order Items; drop"\."line_no"\nLIMIT 500/,
  );
  assert.doesNotMatch((plan.steps[0].sql as Record<string, string>)['first batch'], /WHERE/, 'a bootstrap starts at the beginning');
  assert.equal(plan.columns, 'assumed');
  assert.match(
    plan.steps.find((s) => s.stage === 'backfill')?.when as string,
    /drift-check recorded columns to re-read/,
    'the backfill step says when it acts',
  );
  for (const stage of ['extract', 'drift-check', 'compact', 'backfill', 'upsert'])
    assert.ok(plan.steps.find((s) => s.stage === stage)?.sql, `${stage} shows its SQL`);
  assert.deepEqual(plan.schedule.next, ['2026-03-29T01:00:00.000Z', '2026-03-29T01:00:30.000Z', '2026-03-29T01:01:00.000Z']);
  assert.equal(plan.target.currentView, 'lines_current');
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan, 'a plan survives JSON: it is data');
});

test('schedule: seconds field and DST-exact fire times in the pipeline time zone', () => {
  // Europe/Berlin springs forward at 2026-03-29 01:00 UTC: every 30 s straight through it.
  assert.deepEqual(nextFireTimes('*/30 * * * * *', 'Europe/Berlin', 3, new Date('2026-03-29T00:59:10Z')), [
    '2026-03-29T00:59:30.000Z',
    '2026-03-29T01:00:00.000Z',
    '2026-03-29T01:00:30.000Z',
  ]);
  // A daily 02:30 job on the autumn change runs once, not twice or never.
  const runs = nextFireTimes('0 30 2 * * *', 'Europe/Berlin', 2, new Date('2026-10-24T12:00:00Z'));
  assert.equal(runs.length, 2);
  assert.notEqual(runs[0].slice(0, 10), runs[1].slice(0, 10));
});

test('widening is allowed only where every value survives', () => {
  assert.ok(isWidening('INTEGER', 'BIGINT'));
  assert.ok(isWidening('DECIMAL(10,2)', 'DECIMAL(12,2)'));
  assert.ok(isWidening('INTEGER', 'DECIMAL(12,2)'));
  assert.ok(!isWidening('BIGINT', 'INTEGER'));
  assert.ok(!isWidening('DECIMAL(12,2)', 'DECIMAL(12,3)'), 'scale up without precision up loses integer digits');
  assert.ok(!isWidening('VARCHAR', 'INTEGER'));
});

test('upsert SQL de-duplicates by key (latest cursor) and never overwrites a newer row', () => {
  const sql = buildUpsertSql(
    '"lake"."main"."t"',
    '"b"',
    "/tmp/it's.parquet",
    [
      { name: 'id', loadExpr: (c) => c },
      { name: 'updated_at', loadExpr: (c) => c },
    ],
    ['id'],
    'updated_at',
  );
  assert.ok(sql.load, 'monotonic mode loads the file into a temp table first');
  assert.match(sql.load, /read_parquet\('\/tmp\/it''s\.parquet'\)/);
  assert.match(sql.load, /QUALIFY row_number\(\) OVER \(PARTITION BY "id" ORDER BY "updated_at" DESC\) = 1/);
  assert.match(sql.delete, /t\."updated_at" <= b\."updated_at"/);
  assert.match(sql.insert, /WHERE NOT EXISTS/);
});
