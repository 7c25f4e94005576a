/**
 * Found by review of a change (fixed): the target check now runs before on_recreate's drop. When the checkpoint's target differs
 * (the DuckDB file moved: DUCKDB_PATH changed) and the source was re-created in the same interval, the
 * TargetLost path resets the checkpoint AND the source identity (store.reset), so the run that follows
 * adopts the re-created table as if nothing happened and bootstraps by upsert into the existing table:
 * rows the re-created source no longer has stay in DuckDB. Before the change the rebootstrap dropped
 * the table first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const SOURCE = `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());`;

test('on_recreate: rebootstrap, source re-created while the DuckDB file moved: DuckDB must equal the new source', async () => {
  const url = await pgs.createDatabase('recreated_moved');
  const ws = createWorkspace();
  try {
    await pgs.query(url, `${SOURCE} INSERT INTO orders SELECT g, 'old', '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 10) g;`);
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  on_recreate: rebootstrap\ntarget:\n  table: orders\nbatch_size: 5\n');
    await runOnce(ws, url);
    // The warehouse file moved to another disk; DUCKDB_PATH follows it.
    const moved = join(ws.dir, 'moved.duckdb');
    copyFileSync(ws.duckdbPath, moved);
    rmSync(ws.duckdbPath);
    // The source is dropped and reloaded (what on_recreate: rebootstrap is for): rows 6..10 are gone.
    await pgs.query(
      url,
      `DROP TABLE orders; ${SOURCE} INSERT INTO orders SELECT g, 'new', '2024-02-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 5) g;`,
    );
    await new Promise((r) => setTimeout(r, 1200));
    await runOnce(ws, url, [], { DUCKDB_PATH: moved });
    await runOnce(ws, url, [], { DUCKDB_PATH: moved });
    const rows = await withDuckDbFile(moved, (s) => s.all('SELECT id, note FROM orders ORDER BY id'), { readOnly: true });
    assert.deepEqual(
      rows.map((r) => `${r.id}:${r.note}`),
      ['1:new', '2:new', '3:new', '4:new', '5:new'],
    );
  } finally {
    ws.cleanup();
  }
});
