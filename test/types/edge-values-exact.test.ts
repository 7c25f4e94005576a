/**
 * From a review (values changed silently): edge values not in test/support/type-cases.ts, on every data
 * path: the bootstrap stream (CSV cut by csv-record-cutter.ts), an incremental keyset batch (CSV), and
 * the row-array path (PGDUCK_DATA_PATH=rows), each then checked by verify. Every value is compared as
 * Postgres prints it through the extract's select expression (format('%s', …), what the README
 * promises DuckDB holds) with DuckDB's text of it; text and array elements by md5 and length, so a
 * lost CR or a changed byte shows. It passed when written: it guards what was checked and found exact.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const TEXTS = [
  `E'a\\rb'`,
  `E'a\\r\\nb'`,
  `E'ab\\r'`,
  `E'\\r'`,
  `E'\\n'`,
  `E'\\\\.'`,
  `E'\\\\N'`,
  `'   '`,
  `'#hash'`,
  `E'\\x01\\x02\\x1b\\x7f'`,
  `E'\\x0b\\x0c\\x1c\\x1d\\x1e\\x1f'`,
  `U&'\\0085 \\2028 \\00A0'`,
  `'e' || U&'\\0301'`,
  `'"'`,
  `'""'`,
  `','`,
  `'NULL'`,
  `''`,
  `NULL`,
  `U&'x\\FEFFy'`,
  `E'\\t lead'`,
  `E'trail \\t'`,
  `E'\\\\'`,
  `E'\\n\\\\.\\n'`,
  `U&'\\FEFF'`,
  `E'\\\\.\\r'`,
  `'😀 𝔘 ☃'`,
  `''''`,
  `repeat('x', 2500000)`,
  `'{"a":1}'`,
];

// One row per TEXTS entry; the other columns cycle through their own edge values.
const ARRAYS = [
  `ARRAY['']`,
  `ARRAY[NULL]::text[]`,
  `'{}'::text[]`,
  `ARRAY['"', ',', '{', '}', E'\\\\', 'NULL', 'null', ' ', E'a\\r\\nb', '\\.']`,
  `ARRAY[E'\\x01', '😀', 'e' || U&'\\0301', '[1]', '{"k":1}']`,
];
const JSONS = [`' {"b": 1, "a": [1.10, 1e400]} '`, `'"\\ud83d\\ude00 \\u00e9"'`, `E'{"a":\\n1}'`, `'[]'`, `'  null'`];
const JSONBS = [`'{"b": 1, "a": 2, "a": 3}'`, `'{"x": "\\u00e9\\t"}'`, `'[1.000, -0, 1e-5]'`, `'"\\ud83d\\ude00"'`];
const COMPOSITES = [`ROW(ROW(1, 'a,"b"'), ARRAY['x', NULL], '😀', 'NaN'::float8, '\\x00ff'::bytea)::outer_t`, `ROW(NULL, '{}', '', '-0', '\\x')::outer_t`];
const MISC = [
  { col: 'vb', type: 'varbit', values: [`B''`, `B'1'`, `B'0101010101010101010101010101010101'`] },
  { col: 'm8', type: 'macaddr8', values: [`'08:00:2b:01:02:03:04:05'`, `'08002b0102030405'`] },
  { col: 'lsn', type: 'pg_lsn', values: [`'FFFFFFFF/FFFFFFFF'`, `'0/0'`] },
  { col: 'u', type: 'uuid', values: [`'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'`, `'{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}'`] },
  { col: 'tm', type: 'time', values: [`'24:00:00'`, `'00:00:00.000001'`] },
  { col: 'ttz', type: 'timetz', values: [`'24:00:00+15:59'`, `'00:00:00.000001-15:59'`] },
  { col: 'f4', type: 'real', values: [`'1.4e-45'`, `'-0'`, `'3.4028235e38'`, `'0.3'`, `'16777216'`] },
  { col: 'f8', type: 'float8', values: [`'2.2250738585072014e-308'`, `'2.225073858507201e-308'`, `'4.9e-324'`, `'-1.7976931348623157e308'`, `'0.1'`] },
  { col: 'ts', type: 'timestamptz', values: [`'2024-03-31 01:59:59.999999+00'`, `'2024-10-27 00:59:59.999999+00'`, `'1901-12-13 20:45:52.000001+00'`] },
  { col: 'iv', type: 'interval', values: [`'-178956970 years -8 months -2147483648 days -2562047788 hours'`, `'1 mon -1 day 1 us'`, `'-0.000001 s'`] },
];

const SETUP = `CREATE TYPE inner_t AS (n int, s text);
  CREATE TYPE outer_t AS (i inner_t, a text[], e text, f float8, b bytea);
  CREATE TABLE items (
    first_t text, id int PRIMARY KEY, a text[], j json, jb jsonb, c outer_t,
    ${MISC.map((m) => `${m.col} ${m.type}`).join(', ')},
    updated_at timestamptz NOT NULL, last_t text);
  CREATE INDEX ON items (updated_at, id);`;

function rowSql(i: number, updatedAt: string): string {
  const pick = (xs: string[]) => xs[i % xs.length];
  return `INSERT INTO items (first_t, id, a, j, jb, c, ${MISC.map((m) => m.col).join(', ')}, updated_at, last_t) VALUES (${TEXTS[i]}, ${i}, ${pick(ARRAYS)}, ${pick(JSONS)}, ${pick(JSONBS)}, ${pick(COMPOSITES)}, ${MISC.map((m) => pick(m.values)).join(', ')}, '${updatedAt}', ${TEXTS[TEXTS.length - 1 - i]});`;
}

/** Per row: each column's text as the extract sends it, as md5 + length (texts) or the text itself. */
const PG_COLUMNS: Record<string, string> = {
  first_t: `CASE WHEN first_t IS NULL THEN 'N' ELSE md5(first_t) || ':' || length(first_t) END`,
  last_t: `CASE WHEN last_t IS NULL THEN 'N' ELSE md5(last_t) || ':' || length(last_t) END`,
  a: `CASE WHEN a IS NULL THEN 'N' ELSE '[' || coalesce((SELECT string_agg(coalesce(md5(e) || ':' || length(e), 'N'), ',' ORDER BY o) FROM unnest(a) WITH ORDINALITY AS u (e, o)), '') || ']' END`,
  j: `j::text`,
  jb: `jb::text`,
  c: `to_json(c)::text`,
  vb: `vb::text`,
  m8: `m8::text`,
  lsn: `lsn::text`,
  u: `u::text`,
  tm: `(extract(epoch FROM tm) * 1000000)::bigint::text`,
  ttz: `(extract(epoch FROM ttz::time) * 1000000)::bigint::text || ' ' || extract(timezone FROM ttz)::text`,
  f4: `f4::float8::text`,
  f8: `f8::text`,
  ts: `(extract(epoch FROM ts) * 1000000)::bigint::text`,
  iv: `(extract(year FROM iv) * 12 + extract(month FROM iv))::text || ' ' || extract(day FROM iv)::text || ' ' || (extract(hour FROM iv) * 3600000000 + extract(minute FROM iv) * 60000000 + extract(microseconds FROM iv))::bigint::text`,
};
const DUCK_COLUMNS: Record<string, string> = {
  first_t: `CASE WHEN first_t IS NULL THEN 'N' ELSE md5(first_t) || ':' || length(first_t) END`,
  last_t: `CASE WHEN last_t IS NULL THEN 'N' ELSE md5(last_t) || ':' || length(last_t) END`,
  a: `CASE WHEN a IS NULL THEN 'N' ELSE '[' || array_to_string(list_transform(a, lambda e: coalesce(md5(e) || ':' || length(e), 'N')), ',') || ']' END`,
  j: `CAST(j AS VARCHAR)`,
  jb: `CAST(jb AS VARCHAR)`,
  c: `CAST(c AS VARCHAR)`,
  vb: `vb`,
  m8: `m8`,
  lsn: `lsn`,
  u: `CAST(u AS VARCHAR)`,
  tm: `CAST(epoch_us(tm) AS VARCHAR)`,
  ttz: `CAST(epoch_us(CAST(ttz AS TIME)) AS VARCHAR) || ' ' || CAST(extract('timezone' FROM ttz) AS VARCHAR)`,
  f4: `CAST(CAST(f4 AS DOUBLE) AS VARCHAR)`,
  f8: `CAST(f8 AS VARCHAR)`,
  ts: `CAST(epoch_us(ts) AS VARCHAR)`,
  iv: `CAST(datepart('year', iv) * 12 + datepart('month', iv) AS VARCHAR) || ' ' || CAST(datepart('day', iv) AS VARCHAR) || ' ' || CAST(CAST(datepart('hour', iv) AS HUGEINT) * 3600000000 + datepart('minute', iv) * 60000000 + datepart('microseconds', iv) AS VARCHAR)`,
};
const NUMERIC_COLUMNS = new Set(['f4', 'f8']);

async function compare(ws: Workspace, url: string, table: string, where: string): Promise<void> {
  const cols = Object.keys(PG_COLUMNS);
  const pgRows = (await pgs.query(url, `SELECT id, ${cols.map((c) => `${PG_COLUMNS[c]} AS ${c}`).join(', ')} FROM items ORDER BY id`)).rows;
  const duckRows = await withDuckDbFile(
    ws.duckdbPath,
    (s) => s.all(`SELECT id, ${cols.map((c) => `${DUCK_COLUMNS[c]} AS ${c}`).join(', ')} FROM ${table} ORDER BY id`),
    {
      readOnly: true,
    },
  );
  assert.equal(duckRows.length, pgRows.length, `${where}: rows`);
  const problems: string[] = [];
  for (let i = 0; i < pgRows.length; i++) {
    for (const c of cols) {
      const p = pgRows[i][c] === null ? null : String(pgRows[i][c]);
      const d = duckRows[i][c] === null ? null : String(duckRows[i][c]);
      const same = NUMERIC_COLUMNS.has(c) && p !== null && d !== null ? Object.is(Number(p), Number(d)) : p === d;
      if (!same) problems.push(`id ${pgRows[i].id} ${c}: Postgres ${p} DuckDB ${d}`);
    }
  }
  assert.deepEqual(problems, [], `${where}: every value as Postgres prints it`);
}

test('edge values: bootstrap stream, incremental keyset batch and the rows path keep every value; verify agrees', async () => {
  const url = await pgs.createDatabase('review_edge_values');
  const ws = createWorkspace();
  const half = Math.floor(TEXTS.length / 2);
  try {
    await pgs.query(url, `${SETUP} BEGIN; ${Array.from({ length: half }, (_, i) => rowSql(i, '2025-01-01 00:00:00+00')).join('\n')} COMMIT;`);
    ws.writePipeline('csvp', 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: csv_items\nbatch_size: 4\n');
    ws.writePipeline('rowsp', 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: rows_items\nbatch_size: 4\n');
    await runOnce(ws, url, ['--only', 'csvp']);
    await pgs.query(url, `BEGIN; ${Array.from({ length: TEXTS.length - half }, (_, k) => rowSql(half + k, '2025-02-01 00:00:00+00')).join('\n')} COMMIT;`);
    await runOnce(ws, url, ['--only', 'csvp']);
    process.env.PGDUCK_DATA_PATH = 'rows';
    try {
      await runOnce(ws, url, ['--only', 'rowsp']);
    } finally {
      delete process.env.PGDUCK_DATA_PATH;
    }
    await compare(ws, url, 'csv_items', 'CSV path (bootstrap stream + incremental batches)');
    await compare(ws, url, 'rows_items', 'rows path');
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});
