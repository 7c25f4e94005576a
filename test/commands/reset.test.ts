/** `pgduck reset`: a recovery command that works when other files are broken, and never half-resets. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createWorkspace, runCli } from '../support/workspace.js';

const ws = createWorkspace();
after(() => ws.cleanup());
const env = { ...ws.env('postgres://nowhere.invalid/db') };

const seedState = async () => {
  mkdirSync(join(ws.dir, 'lake'), { recursive: true });
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  store.advance(
    'orders',
    { position: { cursor: '2026-01-01 00:00:00.123456+00', key: ['7'] }, rows: 7, bootstrapDone: true },
    store.get('orders')?.generation ?? 0,
  );
  store.close();
  await withDuckDbFile(ws.duckdbPath, (s) => s.run('CREATE OR REPLACE TABLE orders_copy (id INT PRIMARY KEY); INSERT INTO orders_copy VALUES (1)'));
};
const checkpoint = () => {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return store.get('orders');
  } finally {
    store.close();
  }
};

test('reset reads only its own file: a broken neighbour or an unset ${VAR} in its connection does not block it', async () => {
  ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  connection: ${ORDERS_DB_URL}\ntarget:\n  table: orders_copy\n');
  ws.writePipeline('broken', 'source: [not, a, mapping\n');
  await seedState();
  const res = await runCli(['reset', 'orders', '--drop-target'], env);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /checkpoint cleared for orders.*DuckDB table orders_copy dropped/);
  const cp = checkpoint();
  assert.equal(cp?.position, null);
  assert.equal(cp?.bootstrapDone, false);
  const tables = await withDuckDbFile(ws.duckdbPath, (s) => s.all("SELECT count(*)::INT AS n FROM duckdb_tables() WHERE table_name = 'orders_copy'"));
  assert.equal(tables[0].n, 0);
});

test('reset --drop-target on a locked DuckDB file fails before the checkpoint is touched', async () => {
  await seedState();
  const { holdDuckDbLock } = await import('../support/lock-holder.js');
  const holder = await holdDuckDbLock(ws.duckdbPath);
  try {
    const res = await runCli(['reset', 'orders', '--drop-target'], env);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /warehouse\.duckdb/);
    assert.equal(checkpoint()?.position?.key[0], '7', 'checkpoint untouched');
  } finally {
    await holder.release();
  }
});

test('unknown pipelines and a --drop-target without a known table are usage errors', async () => {
  const unknown = await runCli(['reset', 'nope'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown pipeline: nope/);
  // A checkpoint whose file is gone can still be forgotten, but its table cannot be named.
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  store.advance('gone', { position: { cursor: '2026-01-01 00:00:00+00', key: ['1'] }, rows: 1 });
  store.close();
  const drop = await runCli(['reset', 'gone', '--drop-target'], env);
  assert.equal(drop.code, 2);
  assert.match(drop.stderr, /no gone\.yml .*nothing was reset/);
  const plain = await runCli(['reset', 'gone'], env);
  assert.equal(plain.code, 0, plain.stderr);
});
