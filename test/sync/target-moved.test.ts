/**
 * The checkpoint's rows must be in the table a run writes. After a bootstrap the pipeline's target
 * can change under a kept checkpoint: target.table renamed in the pipeline file, the DuckDB file
 * deleted or replaced, DUCKDB_PATH pointing at another file. Continuing from the checkpoint loaded
 * only the rows changed after it into the new table (rows 1–2, 4–20 were missing while every run
 * reported success; found by review). A run now starts over as a bootstrap then
 * (src/stages/target-lost.ts), and deletes nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { duckIds, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const ALL = Array.from({ length: 20 }, (_, i) => i + 1);
const pipeline = (table: string) => `source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: ${table}\nbatch_size: 5\n`;

async function synced(name: string): Promise<{ url: string; ws: Workspace }> {
  const url = await pgs.createDatabase(name);
  const ws = createWorkspace();
  await pgs.query(
    url,
    `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON orders (updated_at, id);
     INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
  );
  ws.writePipeline('orders', pipeline('orders'));
  await runOnce(ws, url);
  assert.deepEqual(await duckIds(ws, 'orders'), ALL);
  return { url, ws };
}

async function change(url: string, id: number): Promise<void> {
  await pgs.query(url, `UPDATE orders SET note = 'new', updated_at = now() WHERE id = ${id}`);
  await new Promise((r) => setTimeout(r, 1200)); // past the horizon's margin
}

function schemaEvents(ws: Workspace): { kind: string; detail: string }[] {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return store.schemaEvents('orders').map((e) => ({ kind: e.kind, detail: e.detail }));
  } finally {
    store.close();
  }
}

test('target.table renamed in the pipeline file: the new table gets every row, the old one is kept', async () => {
  const { url, ws } = await synced('target_renamed');
  try {
    ws.writePipeline('orders', pipeline('orders_v2'));
    await change(url, 3);
    const run = await runOnce(ws, url);
    assert.match(
      run.stderr,
      /the pipeline's DuckDB table is now main\.orders_v2 in .*, its checkpoint was written for main\.orders in .*bootstraps again into/,
    );
    assert.deepEqual(await duckIds(ws, 'orders_v2'), ALL);
    const notes = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT note FROM orders_v2 WHERE id = 3`), { readOnly: true });
    assert.deepEqual(notes, [{ note: 'new' }]);
    assert.deepEqual(await duckIds(ws, 'orders'), ALL, 'the old table is left as it was');
    assert.equal(schemaEvents(ws).filter((e) => e.kind === 'retargeted').length, 1);
    // Settled: the next run continues from the new checkpoint.
    await change(url, 4);
    assert.match((await runOnce(ws, url)).stdout, /✓ orders: 1 rows/);
  } finally {
    ws.cleanup();
  }
});

test('the DuckDB file deleted after a bootstrap: the next run loads every row again, changed rows or not', async () => {
  const { url, ws } = await synced('target_file_gone');
  try {
    // Nothing changed in the source: an idle run must not take the old target check's word for it.
    rmSync(ws.duckdbPath);
    rmSync(`${ws.duckdbPath}.wal`, { force: true });
    const idle = await runOnce(ws, url);
    assert.match(idle.stderr, /DuckDB table orders does not exist in .*warehouse\.duckdb/);
    assert.deepEqual(await duckIds(ws, 'orders'), ALL);
    // The table dropped by hand, with a row changed: the same.
    await withDuckDbFile(ws.duckdbPath, (s) => s.run('DROP TABLE orders'));
    await change(url, 3);
    await runOnce(ws, url);
    assert.deepEqual(await duckIds(ws, 'orders'), ALL);
    assert.equal(readCheckpoint(ws, 'orders')?.bootstrapDone, true);
  } finally {
    ws.cleanup();
  }
});

test('DUCKDB_PATH pointed at another file and back: each file holds every row', async () => {
  const { url, ws } = await synced('target_file_switched');
  try {
    const other = join(ws.dir, 'other', 'warehouse.duckdb');
    await change(url, 3);
    await runOnce(ws, url, [], { DUCKDB_PATH: other });
    assert.deepEqual(await duckIds({ ...ws, duckdbPath: other }, 'orders'), ALL);
    // Back to the first file: rows changed while the runs wrote the other one reach it too.
    await change(url, 5);
    await runOnce(ws, url);
    assert.deepEqual(await duckIds(ws, 'orders'), ALL);
    const notes = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT id, note FROM orders WHERE note = 'new' ORDER BY id`), { readOnly: true });
    assert.deepEqual(notes, [
      { id: 3, note: 'new' },
      { id: 5, note: 'new' },
    ]);
    assert.equal(schemaEvents(ws).filter((e) => e.kind === 'retargeted').length, 2);
  } finally {
    ws.cleanup();
  }
});
