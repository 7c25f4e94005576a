/**
 * "A NULL key stops the pipeline naming the row" (docs/architecture.md, rule 1) holds for the
 * NULL-cursor sweep too, not only for keyset batches. Before, the sweep read rows by key with no
 * such check: a NULL-cursor row with a NULL key part was loaded, and when its chunk changed the
 * upsert's DELETE (t.b = b.b, never true for NULL) missed it and the INSERT added it again: one
 * source row, two DuckDB rows, and the run succeeded (target.key_index: false; with the key index
 * DuckDB's PRIMARY KEY refuses the NULL loudly).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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

test('a NULL-cursor row with a NULL key part stops the pipeline naming the row; nothing of it is loaded', async () => {
  const url = await pgs.createDatabase('null_cursor_null_key');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE parts (a int NOT NULL, b int, note text NOT NULL, updated_at timestamptz, UNIQUE (a, b));
       CREATE INDEX ON parts (updated_at, a, b);
       INSERT INTO parts VALUES (1, 1, 'has a cursor', '2025-01-01 00:00:00+00'), (2, NULL, 'v1', NULL);`,
    );
    ws.writePipeline('parts', 'source:\n  table: public.parts\n  primary_key: [a, b]\ntarget:\n  table: parts\n  key_index: false\nbatch_size: 10\n');
    const outcome = () =>
      runOnce(ws, url).then(
        () => 'ok',
        (err: Error) => err.message,
      );
    const refused = /public\.parts: a row has NULL in b \(key a=2, b=NULL\); the cursor and the primary key must never be NULL/;
    assert.match(await outcome(), refused);
    await pgs.query(url, `UPDATE parts SET note = 'v2' WHERE a = 2`);
    assert.match(await outcome(), refused, 'refused again while the row is there');
    const rows = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT a, b, note FROM parts ORDER BY a'), { readOnly: true });
    assert.deepEqual(rows, [{ a: 1, b: 1, note: 'has a cursor' }], 'the keyset rows are synced; the row with the NULL key is not');
  } finally {
    ws.cleanup();
  }
});
