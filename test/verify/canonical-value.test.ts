/**
 * The canonical value of every mapped type is computed identically by Postgres and DuckDB SQL:
 * a table with edge values of every type is synced by the real CLI, then `verify` must find it equal
 * (any formatting difference between the two canonical forms would show as a changed row), and must
 * find every column of two swapped rows changed, including the near pairs each column holds
 * (-0 and 0, 1.10 and 1.1 as exact numeric text, one microsecond, 1 mon and 30 days, json whitespace,
 * '' and NULL, '{}' and '{NULL}' …): a canonical form that loses a distinction would miss a column.
 */
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { quoteIdent as q, quoteLiteral } from '../../src/sql/identifier.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { resolveSettings } from '../../src/runner/settings.js';
import { verifyPipeline } from '../../src/repair/verify-pipeline.js';
import { domainOfDuckType } from '../../src/verify/canonical-value.js';

const I = (s: string) => `interval ${quoteLiteral(s)}`;

/** Column → values of rows 0…7 (pairs 0/1, 2/3, 4/5, 6/7 are swapped later); missing = NULL; row 8 is all NULL. */
const COLUMNS: { name: string; type: string; values: string[] }[] = [
  { name: 'c_int2', type: 'smallint', values: ['-32768', '32767', '0', '1'] },
  { name: 'c_int4', type: 'integer', values: ['-2147483648', '2147483647', '0', 'NULL', '1', '2'] },
  { name: 'c_int8', type: 'bigint', values: ['9007199254740993', '9007199254740992', '-9223372036854775808', '9223372036854775807'] },
  { name: 'c_oid', type: 'oid', values: ['4294967295', '0'] },
  { name: 'c_float4', type: 'real', values: [`'-0'`, `'0'`, `'NaN'`, `'Infinity'`, `'1.1'`, `'1.1000001'`, `'1e-45'`, `'3.4028235e38'`] },
  {
    name: 'c_float8',
    type: 'double precision',
    values: [`'0.1'`, `'0.10000000000000002'`, `'-0'`, `'0'`, `'NaN'`, `'-Infinity'`, `'-2.2409453890540632e+16'`, `'5e-324'`],
  },
  { name: 'c_bool', type: 'boolean', values: ['true', 'false', 'false', 'NULL'] },
  { name: 'c_num', type: 'numeric(12,2)', values: ['1.10', '1.11', '0', '-0.01', '9999999999.99', '-9999999999.99'] },
  { name: 'c_num_bigscale', type: 'numeric(2,5)', values: ['0.00099', '0.0001', '0', '-0.00001'] },
  { name: 'c_num_negscale', type: 'numeric(3,-2)', values: ['99900', '-12300', '0', '100'] },
  { name: 'c_num_free', type: 'numeric', values: ['1.10', '1.1', `'NaN'`, `'Infinity'`, '0', '0.0', '123456789012345678901234567890.5', '-1e-30'] },
  { name: 'c_text', type: 'text', values: [`''`, 'NULL', `'a'`, `'a '`, `'é😀 日本'`, `E'e\\u0301'`, `'NULL'`, `E'tab\\tnl\\n'`] },
  { name: 'c_varchar', type: 'varchar(12)', values: [`'abc'`, `'ABC'`] },
  { name: 'c_char', type: 'char(5)', values: [`'ab'`, `'abc'`, `''`, `'abcde'`] },
  { name: 'c_enum', type: 'mood', values: [`'happy'`, `'so-so, "meh"'`] },
  {
    name: 'c_uuid',
    type: 'uuid',
    values: [`'00000000-0000-0000-0000-000000000001'`, `'00000000-0000-0000-0000-000000000002'`, `'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'`],
  },
  { name: 'c_json', type: 'json', values: [`'{"a":1}'`, `'{"a": 1}'`, `'{"a" :  12345678901234567890, "a": 1.10}'`, `'null'`, `'[]'`, `'"str"'`] },
  { name: 'c_jsonb', type: 'jsonb', values: [`'{"a": 1}'`, `'{"a": 1.0}'`, `'null'`, `'[1, [2, {"x": null}]]'`, `'{"big": 123456789012345678901}'`] },
  {
    name: 'c_timestamptz',
    type: 'timestamptz',
    values: [
      `'2024-02-29 23:59:59.999999+00'`,
      `'2024-02-29 23:59:59.999998+00'`,
      `'infinity'`,
      `'-infinity'`,
      `'0044-03-15 12:00:00.5+00 BC'`,
      `'0044-03-15 12:00:00.5+00'`,
      `'1969-12-31 23:59:59.999999+00'`,
      `'1970-01-01 00:00:00+00'`,
    ],
  },
  {
    name: 'c_timestamp',
    type: 'timestamp',
    values: [`'2024-02-29 12:34:56.789012'`, `'2024-02-29 12:34:56.789013'`, `'infinity'`, `'0001-12-31 23:59:59.999999 BC'`, `'12345-06-07 08:09:10.111213'`],
  },
  {
    name: 'c_date',
    type: 'date',
    values: [`'2024-01-01'`, `'2024-01-02'`, `'infinity'`, `'-infinity'`, `'0044-03-15 BC'`, `'0044-03-15'`, `'5874897-12-31'`, `'1970-01-01'`],
  },
  { name: 'c_time', type: 'time', values: [`'00:00:00'`, `'24:00:00'`, `'12:34:56.789012'`, `'12:34:56.789011'`] },
  { name: 'c_timetz', type: 'timetz', values: [`'12:00:00+01'`, `'11:00:00+00'`, `'12:00:00+05:30:15'`, `'12:00:00+05:30'`, `'24:00:00-15:59'`] },
  {
    name: 'c_interval',
    type: 'interval',
    values: [
      I('1 mon'),
      I('30 days'),
      I('1 day'),
      I('24 hours'),
      I('-1 day +02:03:04.5'),
      I('1 year 2 mons -3 days +04:05:06.5'),
      I('-0.5 sec'),
      I('1 microsecond'),
    ],
  },
  { name: 'c_bytea', type: 'bytea', values: [`'\\x00'`, `'\\x0000'`, `'\\x'`, 'NULL', `'\\xdeadbeef'`, `'\\xDEADBEEE'`] },
  { name: 'c_money', type: 'money', values: [`'12.34'`, `'12.35'`] },
  { name: 'c_inet', type: 'inet', values: [`'10.0.0.1'`, `'10.0.0.1/32'`, `'::1'`, `'192.168.0.0/24'`] },
  { name: 'c_range', type: 'int4range', values: [`'[1,10)'`, `'[1,11)'`, `'empty'`, `'(,5]'`] },
  { name: 'c_pair', type: 'pair', values: [`ROW(1, 'a')::pair`, `ROW(1, 'a ')::pair`, `ROW(NULL, NULL)::pair`] },
  { name: 'c_amount', type: 'amount', values: ['1.5', '1.501'] },
  { name: 'a_int4', type: 'integer[]', values: [`'{}'`, `'{NULL}'`, `'{1,2}'`, `'{2,1}'`, 'NULL', `'{}'`] },
  { name: 'a_int8', type: 'bigint[]', values: [`'{9223372036854775807}'`, `'{9223372036854775806}'`] },
  { name: 'a_float8', type: 'float8[]', values: [`'{-0}'`, `'{0}'`, `'{NaN,Infinity}'`, `'{NaN,-Infinity}'`] },
  { name: 'a_float4', type: 'real[]', values: [`'{1.1}'`, `'{1.1000001}'`] },
  { name: 'a_bool', type: 'boolean[]', values: [`'{t,f,NULL}'`, `'{t,f}'`] },
  { name: 'a_num', type: 'numeric(10,2)[]', values: [`'{1.10,NULL}'`, `'{1.1,0}'`, `'{}'`, `'{NULL}'`] },
  { name: 'a_num_free', type: 'numeric[]', values: [`'{1.10}'`, `'{1.1}'`] },
  { name: 'a_text', type: 'text[]', values: [`'{"a,b"}'`, `'{a,b}'`, `ARRAY['']`, `'{NULL}'`, `'{"NULL"}'`, `'{NULL}'`] },
  { name: 'a_char', type: 'char(3)[]', values: [`ARRAY['a']::char(3)[]`, `ARRAY['a  ', 'b']::char(3)[]`] },
  { name: 'a_enum', type: 'mood[]', values: [`ARRAY['happy']::mood[]`, `ARRAY['so-so, "meh"']::mood[]`] },
  { name: 'a_uuid', type: 'uuid[]', values: [`'{550e8400-e29b-41d4-a716-446655440000}'`, `'{550e8400-e29b-41d4-a716-446655440001}'`] },
  { name: 'a_jsonb', type: 'jsonb[]', values: [`ARRAY['{"a": 1}']::jsonb[]`, `ARRAY['{"a": 1.0}']::jsonb[]`] },
  {
    name: 'a_timestamptz',
    type: 'timestamptz[]',
    values: [
      `ARRAY['2024-01-01 00:00:00.000001+00']::timestamptz[]`,
      `ARRAY['2024-01-01 00:00:00+00']::timestamptz[]`,
      `ARRAY['infinity', NULL]::timestamptz[]`,
      `ARRAY['-infinity', NULL]::timestamptz[]`,
    ],
  },
  { name: 'a_date', type: 'date[]', values: [`ARRAY['0044-03-15 BC']::date[]`, `ARRAY['0044-03-15']::date[]`] },
  { name: 'a_time', type: 'time[]', values: [`ARRAY['24:00:00']::time[]`, `ARRAY['00:00:00']::time[]`] },
  { name: 'a_timetz', type: 'timetz[]', values: [`ARRAY['12:00:00+01']::timetz[]`, `ARRAY['11:00:00+00']::timetz[]`] },
  { name: 'a_interval', type: 'interval[]', values: [`ARRAY[${I('1 mon')}]`, `ARRAY[${I('30 days')}]`] },
  { name: 'a_bytea', type: 'bytea[]', values: [`ARRAY['\\x00'::bytea]`, `ARRAY['\\x0000'::bytea]`] },
  { name: 'a_money', type: 'money[]', values: [`ARRAY['1.23'::money]`, `ARRAY['1.24'::money]`] },
];

const ROWS = 9;
const PAIRS: [number, number][] = [
  [0, 1],
  [2, 3],
  [4, 5],
  [6, 7],
];

describe('verify: canonical values of every type agree across Postgres and DuckDB', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('canonical');
    await pg.query(
      url,
      `CREATE TYPE mood AS ENUM ('so-so, "meh"', 'happy');
       CREATE TYPE pair AS (n int, t text);
       CREATE DOMAIN amount AS numeric(10,3);`,
    );
    const defs = COLUMNS.map((c) => `${q(c.name)} ${c.type}`).join(',\n');
    await pg.query(url, `CREATE TABLE edge (id int PRIMARY KEY, ${defs}, updated_at timestamptz NOT NULL DEFAULT now())`);
    for (let i = 0; i < ROWS; i++) {
      const vals = COLUMNS.map((c) => (i < ROWS - 1 ? (c.values[i] ?? 'NULL') : 'NULL'));
      await pg.query(url, `INSERT INTO edge (id, ${COLUMNS.map((c) => q(c.name)).join(', ')}) VALUES (${i}, ${vals.join(', ')})`);
    }
    ws = createWorkspace();
    ws.writePipeline('edge', 'source:\n  table: public.edge\n  primary_key: id\ntarget:\n  table: edge\nbatch_size: 4\n');
    await runOnce(ws, url);
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  const verify = async () => {
    const { specs } = loadPipelines([ws.pipelinesDir]);
    return verifyPipeline(resolvePipeline(specs[0], resolveSettings({}, ws.env(url))), { leafRows: 4, fanout: 2, maxFanout: 2 });
  };

  test('every column is compared, and the synced table is equal', async () => {
    const v = await verify();
    assert.equal(v.error, undefined);
    assert.deepEqual(v.uncompared, []);
    assert.deepEqual(v.compared, ['id', ...COLUMNS.map((c) => c.name), 'updated_at']);
    assert.equal(v.verdict?.sourceRows, ROWS);
    assert.deepEqual(v.verdict?.differences, []);
    assert.equal(v.equal, true);
  });

  test('the canonical domain of each target column is the one its source type maps to', async () => {
    const types = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'edge'`), {
      readOnly: true,
    });
    const domains = Object.fromEntries(types.map((t) => [t.column_name, JSON.stringify(domainOfDuckType(String(t.data_type)))]));
    assert.equal(domains.c_float4, '"float"');
    assert.equal(domains.c_num_free, '"text"');
    assert.equal(domains.c_num, '"decimal"');
    assert.equal(domains.c_timetz, '"timetz"');
    assert.equal(domains.a_timestamptz, '{"list":"timestamptz"}');
    assert.equal(domains.c_pair, '"text"');
  });

  for (const [a, b] of PAIRS) {
    test(`rows ${a} and ${b} swapped in DuckDB: changed, naming every column whose value differs`, async () => {
      const cols = COLUMNS.map((c) => q(c.name));
      // Independent expectation: Postgres' own text of the two values differs (NaN = NaN and -0 = 0 in
      // Postgres equality, but not in their text, and not for pgduck, which keeps -0).
      const expectSql = `SELECT ${COLUMNS.map((c) => `(x.${q(c.name)}::text IS DISTINCT FROM y.${q(c.name)}::text) AS ${q(c.name)}`).join(', ')}
        FROM edge x, edge y WHERE x.id = ${a} AND y.id = ${b}`;
      const row = (await pg.query(url, expectSql)).rows[0] as Record<string, boolean>;
      const expected = COLUMNS.map((c) => c.name).filter((n) => row[n]);
      if (a === 0) assert.ok(expected.length >= COLUMNS.length - 3, `rows 0 and 1 differ in ${expected.length} columns only`);

      const swap = (x: number, y: number) =>
        `UPDATE edge SET ${cols.map((c) => `${c} = s.${c}`).join(', ')} FROM edge AS s WHERE (edge.id = ${x} AND s.id = ${y}) OR (edge.id = ${y} AND s.id = ${x})`;
      await withDuckDbFile(ws.duckdbPath, (s) => s.run(swap(a, b)));
      try {
        const v = await verify();
        assert.equal(v.equal, false);
        const diffs = v.verdict?.differences ?? [];
        assert.deepEqual(
          diffs.map((d) => [d.kind, d.key.id]),
          [
            ['changed', String(a)],
            ['changed', String(b)],
          ],
        );
        for (const d of diffs) assert.deepEqual(d.columns, expected, `row ${d.key.id}`);
      } finally {
        await withDuckDbFile(ws.duckdbPath, (s) => s.run(swap(a, b)));
      }
      assert.equal((await verify()).equal, true, 'swapped back: equal again');
    });
  }
});
