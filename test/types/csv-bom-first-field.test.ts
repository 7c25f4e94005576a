/**
 * Found by review (row loss, keys at the edges): the CSV data path hands each batch's CSV to DuckDB's
 * read_csv, which drops a UTF-8 byte-order mark (U+FEFF) at the very start of a file. The batch's
 * first CSV field is its first column's value in the first row: a value that starts with U+FEFF
 * (text imported from a file with a BOM) loses it there, and only there.
 * - as a text primary key: the key changes, so two source keys collapse into one DuckDB row (the
 *   next batch's DELETE removes the row of the other key) or the row lands under a wrong key;
 * - as any first text column: the value is silently changed.
 * batch_size 1 makes every row the first of its file (bootstrap stream and incremental batches alike).
 * Every batch CSV now starts with a line read_csv skips (CSV_PREFIX, src/parquet/csv-to-parquet.ts).
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

const pipeline = (key: string) => `source:\n  table: public.items\n  primary_key: ${key}\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 1\n`;

test('a text key starting with U+FEFF, inserted after the bootstrap: DuckDB keeps every source key and its row', async () => {
  const url = await pgs.createDatabase('review_bom_key');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (k text PRIMARY KEY, n int NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, k);
       INSERT INTO items VALUES ('a', 1, '2025-01-01 00:00:00+00'), ('b', 3, '2025-01-01 00:00:00+00');`,
    );
    ws.writePipeline('items', pipeline('k'));
    const source = async () =>
      (await pgs.query(url, `SELECT encode(convert_to(k, 'UTF8'), 'hex') AS k, n FROM items ORDER BY 1`)).rows.map((r) => ({ k: String(r.k), n: Number(r.n) }));
    const target = () =>
      withDuckDbFile(
        ws.duckdbPath,
        async (s) => (await s.all(`SELECT lower(hex(encode(k))) AS k, n FROM items ORDER BY 1`)).map((r) => ({ k: String(r.k), n: Number(r.n) })),
        { readOnly: true },
      );
    await runOnce(ws, url);
    assert.deepEqual(await target(), await source(), 'bootstrap: as in Postgres');
    // A new row whose key is U+FEFF followed by 'a' (a value imported from a file with a BOM): an incremental keyset batch of its own.
    await pgs.query(url, `INSERT INTO items VALUES (U&'\\FEFFa', 2, '2025-02-01 00:00:00+00')`);
    await runOnce(ws, url);
    assert.deepEqual(await target(), await source(), 'incremental: the keys (as UTF-8 hex) and their rows as in Postgres');
  } finally {
    ws.cleanup();
  }
});

test('a table holding both a and U+FEFF a bootstraps', async () => {
  const url = await pgs.createDatabase('review_bom_key_bootstrap');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (k text PRIMARY KEY, n int NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, k);
       INSERT INTO items VALUES ('a', 1, '2025-01-01 00:00:00+00'), (U&'\\FEFFa', 2, '2025-01-01 00:00:00+00');`,
    );
    ws.writePipeline('items', pipeline('k'));
    await runOnce(ws, url);
    const keys = await withDuckDbFile(
      ws.duckdbPath,
      async (s) => (await s.all('SELECT lower(hex(encode(k))) AS k, n FROM items ORDER BY 1')).map((r) => `${r.k} ${r.n}`),
      { readOnly: true },
    );
    // 'a' (61) and U+FEFF 'a' (efbbbf61), each with its own row.
    assert.deepEqual(keys, ['61 1', 'efbbbf61 2']);
  } finally {
    ws.cleanup();
  }
});

test('a first text column whose value starts with U+FEFF keeps it in DuckDB', async () => {
  const url = await pgs.createDatabase('review_bom_value');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (note text NOT NULL, id int PRIMARY KEY, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items VALUES (U&'\\FEFFhello', 1, '2025-01-01 00:00:00+00'), (U&'\\FEFFworld', 2, '2025-01-01 00:00:00+00');`,
    );
    ws.writePipeline('items', pipeline('id'));
    await runOnce(ws, url);
    const got = await withDuckDbFile(
      ws.duckdbPath,
      async (s) => (await s.all(`SELECT id, length(note) AS len FROM items ORDER BY id`)).map((r) => ({ id: Number(r.id), len: Number(r.len) })),
      { readOnly: true },
    );
    assert.deepEqual(
      got,
      [
        { id: 1, len: 6 },
        { id: 2, len: 6 },
      ],
      'U+FEFF + 5 letters: 6 characters each, as in Postgres',
    );
  } finally {
    ws.cleanup();
  }
});
