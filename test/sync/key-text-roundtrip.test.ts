/**
 * Keys whose text round trip or order is delicate (char(n) and trailing spaces, an ICU collation,
 * numeric, float8, timestamptz and interval values that print or sort unusually), paged with every row on one cursor value
 * (so the key alone orders the batches), then all changed at one instant (an incremental pass paged
 * from the checkpoint), then a reconcile (which must remove nothing) and verify.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { assertVerified, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

// Each case: the key type and the list of key literals (g-th row gets the g-th). DuckDB cannot index an INTERVAL key (a loud failure): key_index false.
const CASES: { name: string; type: string; keys: string[]; keyIndex?: false }[] = [
  { name: 'char', type: 'char(4)', keys: [`'a'`, `'a b'`, `'b'`, `' a'`, `'ab'`, `'A'`, `''`, `'z  z'`] },
  { name: 'varchar_spaces', type: 'varchar(6)', keys: [`'a'`, `'a '`, `'a  '`, `' a'`, `'b'`, `''`, `'a\t'`, `'A'`] },
  { name: 'text_icu', type: 'text COLLATE "und-x-icu"', keys: [`'a'`, `'B'`, `'b'`, `'A'`, `'é'`, `'e'`, `'E'`, `'ä'`, `'_x'`, `'-x'`, `'x'`] },
  { name: 'numeric', type: 'numeric', keys: [`1.50`, `2`, `2.000001`, `'NaN'`, `-0.0`, `10`, `9.99`, `1e-20`, `'Infinity'`, `'-Infinity'`] },
  { name: 'float8', type: 'float8', keys: [`'NaN'`, `'-0'`, `1e-300`, `0.1`, `'Infinity'`, `'-Infinity'`, `5e-324`, `1.7976931348623157e308`] },
  {
    name: 'timestamptz',
    type: 'timestamptz',
    keys: [
      `'infinity'`,
      `'-infinity'`,
      `'0044-03-15 12:00:00.000001+00 BC'`,
      `'2024-01-01 00:00:00.000001+00'`,
      `'2024-01-01 00:00:00+00'`,
      `'1900-01-01 00:00:00+00'`,
      `'4713-01-01 00:00:00+00 BC'`,
    ],
  },
  {
    name: 'interval',
    type: 'interval',
    keys: [`'1 mon'`, `'31 days'`, `'1 day -1 sec'`, `'-1 mon 40 days'`, `'23:59:59.999999'`, `'1 year'`],
    keyIndex: false,
  },
];

for (const c of CASES) {
  test(`a ${c.name} key (${c.type}): bootstrap, incremental pass, reconcile`, async () => {
    const url = await pgs.createDatabase(`review_key_${c.name}`);
    const ws = createWorkspace();
    try {
      const values = c.keys.map((k, i) => `(${k}, ${i + 1}, timestamptz '2025-01-01 00:00:00+00')`).join(', ');
      await pgs.query(
        url,
        `CREATE TABLE items (k ${c.type} PRIMARY KEY, n int NOT NULL, updated_at timestamptz NOT NULL);
         CREATE INDEX ON items (updated_at, k);
         INSERT INTO items VALUES ${values};`,
      );
      ws.writePipeline(
        'items',
        `source:\n  table: public.items\n  primary_key: k\n  cursor: updated_at\ntarget:\n  table: items\n${c.keyIndex === false ? '  key_index: false\n' : ''}batch_size: 3\n`,
      );
      const synced = () =>
        withDuckDbFile(ws.duckdbPath, async (s) => (await s.all('SELECT count(*)::INT AS rows, sum(n)::INT AS sum_n FROM items'))[0], { readOnly: true });
      const rows = c.keys.length;
      const total = (rows * (rows + 1)) / 2;
      await runOnce(ws, url);
      assert.deepEqual(await synced(), { rows, sum_n: total }, 'bootstrap');
      await pgs.query(url, `UPDATE items SET n = n + 100, updated_at = timestamptz '2025-02-01 00:00:00+00'`);
      await runOnce(ws, url);
      assert.deepEqual(await synced(), { rows, sum_n: total + 100 * rows }, 'incremental');
      await reconcileOnce(ws, url);
      assert.deepEqual(await synced(), { rows, sum_n: total + 100 * rows }, 'after reconcile');
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
}
