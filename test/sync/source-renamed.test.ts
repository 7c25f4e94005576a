/**
 * Found by review of a change: once the target's recorded source was checked on every run
 * (TARGET_TAKEN), a source table renamed in Postgres (same oid, same rows), the pipeline file
 * following the new name, was refused for good. The record holds the source table's oid: a loaded
 * pipeline whose table carries its source's oid under the old name syncs on and records the new name.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { duckIds, runOutcome, settle } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a source table renamed (ALTER TABLE … RENAME, pipeline file updated) syncs on into its DuckDB table', async () => {
  const url = await pgs.createDatabase('renamed_source');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO orders SELECT g, 'a', '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 10) g;`,
    );
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n');
    assert.equal((await runOutcome(ws, url)).ok, true);
    await pgs.query(url, `ALTER TABLE orders RENAME TO orders_v2; INSERT INTO orders_v2 (id, note) VALUES (11, 'b')`);
    ws.writePipeline('orders', 'source:\n  table: public.orders_v2\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n');
    await settle();
    const o = await runOutcome(ws, url);
    assert.equal(o.ok, true, o.ok ? '' : `${o.code}: ${o.message}`);
    assert.deepEqual(
      await duckIds(ws, 'orders'),
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
  } finally {
    ws.cleanup();
  }
});
