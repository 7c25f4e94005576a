/**
 * Found by review: the extract maps the source's columns from one catalog read (introspectTable) and then
 * names them in its data query. A column rename swap committed between the two (here: the swap's
 * transaction holds the table's lock, so the data query waits for it and then binds the new names)
 * makes that batch read each column's values under the other's name. The drift check of that batch
 * goes by the same (old) catalog read and sees nothing; the next batch's drift check sees the swap
 * and swaps the DuckDB columns too, so the rows of that one batch end up with the two columns'
 * values exchanged, and the cursor has moved past them. The drift check now compares the columns'
 * names by attnum too, and refuses such a batch (DRIFT_DURING_READ, transient): nothing of it is
 * loaded, and the next run reads it again under the new names.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { TestClients, runOnce, runOutcome } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';

let pgs: TestPostgres;
const clients = new TestClients();
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await clients.endAll();
  await pgs?.stop();
});

test('a column rename swap committed while a batch is read does not exchange the values of that batch', async () => {
  const url = await pgs.createDatabase('rename_swap_read');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, a text, b text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items SELECT g, 'a' || g, 'b' || g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
    );
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 100\n');
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE items SET a = 'a' || id || ' new', updated_at = '2025-02-01 00:00:00+00' WHERE id <= 3`);

    // The swap, in a transaction that holds the table until the run's data query waits on it.
    const ddl = await clients.connect(url);
    await ddl.query('BEGIN');
    await ddl.query('ALTER TABLE items RENAME COLUMN a TO tmp; ALTER TABLE items RENAME COLUMN b TO a; ALTER TABLE items RENAME COLUMN tmp TO b');
    const run = runOutcome(ws, url);
    const watcher = await clients.connect(url);
    let waited = false;
    for (let i = 0; i < 300 && !waited; i++) {
      const w = await watcher.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'items' AND NOT l.granted`,
      );
      waited = w.rows[0].n > 0;
      if (!waited) await new Promise((r) => setTimeout(r, 20));
    }
    await ddl.query('COMMIT');
    const first = await run;
    assert.ok(waited, "the run's read waited on the swap's lock (the scenario happened)");
    assert.equal(first.ok, false, 'the batch read across the swap is refused');
    if (!first.ok) {
      assert.equal(first.code, 'DRIFT_DURING_READ');
      assert.match(first.message, /\("a" is now "b", "b" is now "a"\)/);
    }
    await runOnce(ws, url);

    const diff = await compareTables(url, 'public.items', ws.duckdbPath, 'items', ['id']);
    assert.deepEqual(diff.mismatches, [], 'DuckDB values that differ from the source');
  } finally {
    ws.cleanup();
  }
});
