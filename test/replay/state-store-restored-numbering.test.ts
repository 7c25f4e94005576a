/**
 * Found by review (row loss, files out of step): the state store restored from an older copy while the
 * DuckDB file and the Parquet history are newer. A run then re-reads from the older position (rows
 * fine), but it numbered its batch from the restored count, below a reconcile's deletes file already
 * on disk from the newer life: `replay --drop-target` applied that deletes file after the batch and
 * removed a key inserted again since (19 rows of 20). A run now takes every number a history file
 * holds past the count (after setting aside the batch files right after it, a crashed run's by the
 * crash rule, src/parquet/history-files.ts) before it numbers anything.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint, reconcileOnce, runOutcome, settle } from '../support/sync-checks.js';
import { listHistory } from '../../src/parquet/history-files.js';
import { compareTables } from '../support/compare-tables.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

async function synced(name: string): Promise<{ url: string; ws: Workspace }> {
  const url = await pgs.createDatabase(name);
  const ws = createWorkspace();
  await pgs.query(
    url,
    `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON orders (updated_at, id);
     INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
  );
  ws.writePipeline('orders', `source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n`);
  assert.equal((await runOutcome(ws, url)).ok, true);
  return { url, ws };
}

function backupState(ws: Workspace): string {
  const db = join(ws.stateDir, 'checkpoints.db');
  const copy = join(ws.dir, 'checkpoints.backup.db');
  copyFileSync(db, copy);
  if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${copy}-wal`);
  return copy;
}

function restoreState(ws: Workspace, copy: string): void {
  const db = join(ws.stateDir, 'checkpoints.db');
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
  copyFileSync(copy, db);
  if (existsSync(`${copy}-wal`)) copyFileSync(`${copy}-wal`, `${db}-wal`);
}

async function assertEqual(ws: Workspace, url: string, what: string): Promise<void> {
  const diff = await compareTables(url, 'orders', ws.duckdbPath, 'orders', ['id']);
  assert.deepEqual(diff, { pgRows: diff.pgRows, duckRows: diff.pgRows, mismatches: [] }, what);
}

test('state store restored from an older copy after a reconcile: the run syncs, and a rebuild from the history gives the same table', async () => {
  const { url, ws } = await synced('state_restored_deletes');
  try {
    const copy = backupState(ws);
    assert.equal(readCheckpoint(ws, 'orders')?.batchesTotal, 4);
    // Changes, synced (batch 5), then a hard delete reconciled away (deletes file 6).
    await pgs.query(url, `UPDATE orders SET note = 'day2', updated_at = now() WHERE id IN (1, 2)`);
    await settle();
    assert.equal((await runOutcome(ws, url)).ok, true);
    await pgs.query(url, `DELETE FROM orders WHERE id = 7`);
    const [rec] = await reconcileOnce(ws, url, ['orders']);
    assert.equal(rec.removed, 1);
    // The state store is restored from its copy; DuckDB and parquet/ stay as they are.
    restoreState(ws, copy);
    // The deleted row comes back in the source.
    await pgs.query(url, `INSERT INTO orders (id, note) VALUES (7, 'back')`);
    await settle();
    const history = () => listHistory(ws.parquetDir, 'orders').files.map((f) => `${f.kind}:${f.seq}`);
    assert.deepEqual(history(), ['batch:1', 'batch:2', 'batch:3', 'batch:4', 'batch:5', 'deletes:6']);
    const run = await runOutcome(ws, url);
    assert.equal(run.ok, true, run.ok ? '' : run.message);
    await assertEqual(ws, url, 'the synced table equals the source');
    // The new batch is numbered past the deletes file; batch 5, past the restored count, is set aside as
    // any batch file right after the count is (its rows were read again from the restored checkpoint).
    assert.deepEqual(history(), ['batch:1', 'batch:2', 'batch:3', 'batch:4', 'deletes:6', 'batch:7']);
    assert.equal(readCheckpoint(ws, 'orders')?.batchesTotal, 7);
    // The history rebuilds the table the runner built.
    const res = await runCli(['replay', 'orders', '--drop-target'], ws.env(NOWHERE));
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    await assertEqual(ws, url, 'the rebuilt table equals the source (and the table the runner built)');
  } finally {
    ws.cleanup();
  }
});

test('state store restored from an older copy after a column was added and backfilled: the run keeps every value', async () => {
  const { url, ws } = await synced('state_restored_added');
  try {
    const copy = backupState(ws);
    await pgs.query(url, `ALTER TABLE orders ADD COLUMN qty int NOT NULL DEFAULT 5; UPDATE orders SET note = 'day2', updated_at = now() WHERE id = 3`);
    await settle();
    assert.equal((await runOutcome(ws, url)).ok, true);
    await assertEqual(ws, url, 'synced with the new column');
    restoreState(ws, copy);
    await pgs.query(url, `UPDATE orders SET qty = 9, updated_at = now() WHERE id = 4`);
    await settle();
    const run = await runOutcome(ws, url);
    assert.equal(run.ok, true, run.ok ? '' : run.message);
    await assertEqual(ws, url, 'after the run on the restored state store');
  } finally {
    ws.cleanup();
  }
});
