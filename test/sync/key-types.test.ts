/**
 * Primary keys of types whose value pgduck reads through an expression (bytea as hex, real as
 * float8, money as numeric, a composite as JSON, an array as JSON text), with every row sharing one
 * cursor value, so the key alone orders the keyset batches. The batches must page through the key
 * as Postgres orders the column, not as it orders the expression's text: ordered by the text of
 * `to_json(k)`, (10) sorts before (9) and a batch boundary there skips rows or reads them twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { readCheckpoint, runOnce, runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const ROWS = 40;

// Each key type, and the key of row g (1..ROWS) as SQL. The orders of the column and of its
// expression's text differ for the composite and the array (and a text sort of 1..40 is not numeric).
// An array key cannot be a DuckDB PRIMARY KEY (DuckDB indexes no LIST): it is synced with
// target.key_index: false, and with the index asked for it is refused before anything is created.
const CASES: { name: string; type: string; key: string; setup?: string; keyIndex?: false }[] = [
  { name: 'bytea', type: 'bytea', key: `int4send(g)` },
  { name: 'real', type: 'real', key: `(g * 1.5)::real` },
  { name: 'money', type: 'money', key: `(g * 10)::numeric::money` },
  { name: 'composite', type: 'keypart', key: `ROW(g, 'k')::keypart`, setup: `CREATE TYPE keypart AS (n int, tag text);` },
  { name: 'array', type: 'int[]', key: `ARRAY[g]`, keyIndex: false },
];

for (const c of CASES) {
  test(`a ${c.name} primary key pages through every row once, in batches smaller than the table`, async () => {
    const url = await pgs.createDatabase(`key_${c.name}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `${c.setup ?? ''}
         CREATE TABLE items (k ${c.type} PRIMARY KEY, n int NOT NULL, updated_at timestamptz NOT NULL);
         CREATE INDEX ON items (updated_at, k);
         INSERT INTO items SELECT ${c.key}, g, timestamptz '2025-01-01 00:00:00+00' FROM generate_series(1, ${ROWS}) AS g;`,
      );
      const keyIndex = c.keyIndex === false ? '  key_index: false\n' : '';
      ws.writePipeline('items', `source:\n  table: public.items\n  primary_key: k\n  cursor: updated_at\ntarget:\n  table: items\n${keyIndex}batch_size: 7\n`);
      const synced = () =>
        withDuckDbFile(
          ws.duckdbPath,
          async (s) => (await s.all('SELECT count(*)::INT AS rows, count(DISTINCT n)::INT AS distinct_n, sum(n)::INT AS sum_n FROM items'))[0],
          { readOnly: true },
        );
      const total = (ROWS * (ROWS + 1)) / 2;
      // The bootstrap: one COPY, cut into batches as it streams.
      await runOnce(ws, url);
      assert.deepEqual(await synced(), { rows: ROWS, distinct_n: ROWS, sum_n: total }, 'bootstrap: every source row once');
      // An incremental run: every row changed at one instant, read in pages after the last key read.
      await pgs.query(url, `UPDATE items SET n = n + 1000, updated_at = timestamptz '2025-02-01 00:00:00+00'`);
      await runOnce(ws, url);
      assert.deepEqual(await synced(), { rows: ROWS, distinct_n: ROWS, sum_n: total + 1000 * ROWS }, 'incremental: every changed row read');
    } finally {
      ws.cleanup();
    }
  });
}

test('an array primary key with the key index asked for is refused before the DuckDB table is created, saying what to set', async () => {
  const url = await pgs.createDatabase('key_array_indexed');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (k int[] PRIMARY KEY, n int NOT NULL, updated_at timestamptz NOT NULL);
       INSERT INTO items SELECT ARRAY[g], g, timestamptz '2025-01-01 00:00:00+00' FROM generate_series(1, 3) AS g;`,
    );
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: k\n  cursor: updated_at\ntarget:\n  table: items\n');
    const outcome = await runOutcome(ws, url);
    assert.ok(!outcome.ok);
    assert.equal(outcome.code, 'KEY_NOT_INDEXABLE');
    assert.equal(outcome.kind, 'needs-action');
    assert.match(outcome.message, /"k" is an array \(a DuckDB LIST\), which DuckDB cannot index; nothing was created/);
    assert.equal(readCheckpoint(ws, 'items')?.position ?? null, null, 'no checkpoint');
    const tables = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT table_name FROM duckdb_tables() WHERE table_name = 'items'`), { readOnly: true });
    assert.deepEqual(tables, []);
  } finally {
    ws.cleanup();
  }
});
