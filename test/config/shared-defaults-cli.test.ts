// Shared defaults through the real CLI, with no database anywhere: `validate` accepts a directory
// with _defaults.yml and two pipeline files (one overriding the schedule), and `plan --json` shows
// the merged values each pipeline compiles to and which fields came from the defaults.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createWorkspace, runCli } from '../support/workspace.js';

const ws = createWorkspace();
after(() => ws.cleanup());
ws.writePipeline('orders', 'source:\n  table: sales.orders\n  primary_key: [region, id]\ntarget:\n  table: orders\n');
ws.writePipeline('customers', 'source:\n  table: customers\n  primary_key: id\ntarget:\n  table: customers\nschedule: "0 0 * * * *"\nbatch_size: 250\n');
const defaultsFile = join(ws.pipelinesDir, '_defaults.yml');
writeFileSync(
  defaultsFile,
  [
    '# yaml-language-server: $schema=../schema/defaults.schema.json',
    'schedule: "0 */5 * * * *"',
    'timezone: Europe/Berlin',
    'batch_size: 2000',
    'source:',
    '  cursor: modified_at',
    '  soft_delete: deleted_at',
    'target:',
    '  duckdb_path: ${SHARED_DUCKDB}',
    '',
  ].join('\n'),
);
const sharedDuckdb = join(ws.dir, 'lake', 'shared.duckdb');
// Nothing listens here: neither command may try.
const env = { ...ws.env('postgres://nobody:secret@127.0.0.1:1/none'), SHARED_DUCKDB: sharedDuckdb };

test('validate: the directory with shared defaults is valid, and _defaults.yml is not counted as a pipeline', async () => {
  const r = await runCli(['validate', ws.pipelinesDir], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, '✓ 2 pipelines valid\n');
});

test('plan --json: each pipeline compiled from the merged file, the override kept, the inherited fields named', async () => {
  const r = await runCli(['plan', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const plans = JSON.parse(r.stdout) as {
    pipeline: string;
    batchSize: number;
    schedule: { cron: string; timezone: string; next: string[] };
    source: { cursor: string; softDelete: string | null; primaryKey: string[] };
    target: { duckdbPath: string; currentView: string | null };
    defaults: { file: string; fields: string[] } | null;
  }[];
  assert.deepEqual(
    plans.map((p) => [p.pipeline, p.schedule.cron, p.schedule.timezone, p.batchSize, p.source.cursor, p.source.softDelete, p.target.duckdbPath]),
    [
      ['customers', '0 0 * * * *', 'Europe/Berlin', 250, 'modified_at', 'deleted_at', sharedDuckdb],
      ['orders', '0 */5 * * * *', 'Europe/Berlin', 2000, 'modified_at', 'deleted_at', sharedDuckdb],
    ],
  );
  const [customers, orders] = plans;
  assert.deepEqual(orders.source.primaryKey, ['region', 'id']);
  assert.equal(orders.target.currentView, 'orders_current', 'the inherited tombstone makes the view');
  assert.deepEqual(orders.defaults, {
    file: defaultsFile,
    fields: ['schedule', 'timezone', 'batch_size', 'source.cursor', 'source.soft_delete', 'target.duckdb_path'],
  });
  assert.deepEqual(customers.defaults, { file: defaultsFile, fields: ['timezone', 'source.cursor', 'source.soft_delete', 'target.duckdb_path'] });
  const hourly = customers.schedule.next.map((t) => Date.parse(t));
  assert.ok(hourly[1] - hourly[0] === 3_600_000 && hourly[2] - hourly[1] === 3_600_000, customers.schedule.next.join(', '));
  const fiveMinutes = orders.schedule.next.map((t) => Date.parse(t));
  assert.ok(fiveMinutes[1] - fiveMinutes[0] === 300_000, orders.schedule.next.join(', '));
});

test('plan (text) says which fields came from the defaults', async () => {
  const r = await runCli(['plan', 'orders'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.stdout.includes(`  defaults   ${defaultsFile} (schedule, timezone, batch_size, source.cursor, source.soft_delete, target.duckdb_path)\n`),
    r.stdout,
  );
  assert.match(r.stdout, /^ {2}batches {4}2000 rows;/m);
});
