/**
 * The edge-value type cases shared by the type tests: one column per case, row i holds values[i]
 * (NULL past the end, so every column has NULLs), and canonical forms computed independently on
 * each side (epoch µs, month/day/µs fields, hex…, never the same formatting code twice).
 */
import assert from 'node:assert/strict';
import { quoteIdent as q, quoteLiteral } from '../../src/sql/identifier.js';

// ---------------------------------------------------------------------------------------------------
// Canonical forms. Each side computes a text per value; floats are compared as numbers (Object.is).

export type Kind = 'text' | 'num' | 'float' | 'ts' | 'date' | 'time' | 'timetz' | 'interval' | 'bytea';

export const PG_CANON: Record<Kind, (e: string) => string> = {
  text: (e) => `${e}::text`, // only used for array elements; scalar text columns compare the raw output
  num: (e) => `${e}::text`,
  float: (e) => `${e}::float8::text`,
  ts: (e) => `CASE WHEN isfinite(${e}) THEN trim_scale(extract(epoch FROM ${e}) * 1000000)::text ELSE ${e}::text END`,
  date: (e) => `CASE WHEN isfinite(${e}) THEN (${e} - DATE '1970-01-01')::text ELSE ${e}::text END`,
  time: (e) => `trim_scale(extract(epoch FROM ${e}) * 1000000)::text`,
  timetz: (e) => `trim_scale(extract(epoch FROM ${e}::time) * 1000000)::text || ' ' || extract(timezone FROM ${e})::text`,
  interval: (e) =>
    `(extract(year FROM ${e}) * 12 + extract(month FROM ${e}))::text || ' ' || extract(day FROM ${e})::text || ' ' || ` +
    `trim_scale(extract(hour FROM ${e}) * 3600000000 + extract(minute FROM ${e}) * 60000000 + extract(microseconds FROM ${e}))::text`,
  bytea: (e) => `encode(${e}, 'hex')`,
};

export const DUCK_CANON: Record<Kind, (e: string) => string> = {
  text: (e) => `CAST(${e} AS VARCHAR)`,
  num: (e) => `CAST(${e} AS VARCHAR)`,
  float: (e) => `CAST(CAST(${e} AS DOUBLE) AS VARCHAR)`,
  ts: (e) => `CASE WHEN isfinite(${e}) THEN CAST(epoch_us(${e}) AS VARCHAR) ELSE CAST(${e} AS VARCHAR) END`,
  date: (e) => `CASE WHEN isfinite(${e}) THEN CAST(${e} - DATE '1970-01-01' AS VARCHAR) ELSE CAST(${e} AS VARCHAR) END`,
  time: (e) => `CAST(epoch_us(${e}) AS VARCHAR)`,
  timetz: (e) => `CAST(epoch_us(CAST(${e} AS TIME)) AS VARCHAR) || ' ' || CAST(extract('timezone' FROM ${e}) AS VARCHAR)`,
  interval: (e) =>
    `CAST(datepart('year', ${e}) * 12 + datepart('month', ${e}) AS VARCHAR) || ' ' || CAST(datepart('day', ${e}) AS VARCHAR) || ' ' || ` +
    `CAST(CAST(datepart('hour', ${e}) AS HUGEINT) * 3600000000 + datepart('minute', ${e}) * 60000000 + datepart('microseconds', ${e}) AS VARCHAR)`,
  bytea: (e) => `lower(hex(${e}))`,
};

export function normFloat(s: string): string {
  const t = s.toLowerCase();
  if (t === 'nan') return 'NaN';
  if (t === 'inf' || t === 'infinity') return 'Infinity';
  if (t === '-inf' || t === '-infinity') return '-Infinity';
  const n = Number(s);
  assert.ok(!Number.isNaN(n), `not a float: ${s}`);
  return Object.is(n, -0) ? '-0' : String(n);
}

/** A one-dimensional Postgres array literal as Postgres prints it (the independent reading of text arrays). */
export function parsePgArray(s: string): (string | null)[] {
  assert.equal(s[0], '{', `not an array literal: ${s}`);
  const out: (string | null)[] = [];
  if (s === '{}') return out;
  let i = 1;
  for (;;) {
    if (s[i] === '"') {
      let buf = '';
      i++;
      while (s[i] !== '"') {
        if (s[i] === '\\') i++;
        buf += s[i++];
      }
      i++;
      out.push(buf);
    } else {
      const start = i;
      while (s[i] !== ',' && s[i] !== '}') i++;
      const raw = s.slice(start, i);
      out.push(raw === 'NULL' ? null : raw);
    }
    if (s[i] === '}') return out;
    assert.equal(s[i], ',');
    i++;
  }
}

// ---------------------------------------------------------------------------------------------------
// The edge table: one column per case, row i holds values[i] (NULL past the end, so every column has NULLs).

export interface Case {
  name: string;
  type: string;
  values: string[];
  kind: Kind;
  array?: boolean;
  duckType: string;
  /** Scalar text columns: compare this Postgres expression's text (default: the raw output). */
  pgText?: (c: string) => string;
}

const I = (s: string) => `interval ${quoteLiteral(s)}`;
const EXTREME_NEG_INTERVAL = `make_interval(years => -178956970, months => -8, days => -2147483647) - ${I('2562047788:00:54.775807')}`;
const EXTREME_POS_INTERVAL = `make_interval(years => 178956970, months => 7, days => 2147483647) + ${I('2562047788:00:54.775806')}`;
const NASTY_TEXTS = [`'a"b'`, `'c,d'`, `'{x}'`, `E'back\\\\slash'`, `'NULL'`, `''`, `' lead and trail '`, `'é😀 日本'`, `E'tab\\tnl\\n'`, 'NULL'];

export const CASES: Case[] = [
  { name: 'c_int2', type: 'smallint', values: ['-32768', '32767', '0'], kind: 'num', duckType: 'SMALLINT' },
  { name: 'c_int4', type: 'integer', values: ['-2147483648', '2147483647', '0'], kind: 'num', duckType: 'INTEGER' },
  { name: 'c_int8', type: 'bigint', values: ['-9223372036854775808', '9223372036854775807', '0', '9007199254740993'], kind: 'num', duckType: 'BIGINT' },
  { name: 'c_oid', type: 'oid', values: ['4294967295', '0'], kind: 'num', duckType: 'BIGINT' },
  {
    name: 'c_float4',
    type: 'real',
    values: [`'NaN'`, `'Infinity'`, `'-Infinity'`, `'-0'`, `'1.1'`, `'3.4028235e38'`, `'1e-45'`, `'0.1'`, `'16777217'`, `'1.17549435e-38'`],
    kind: 'float',
    duckType: 'FLOAT',
  },
  {
    name: 'c_float8',
    type: 'double precision',
    values: [
      `'NaN'`,
      `'Infinity'`,
      `'-Infinity'`,
      `'-0'`,
      `'0.1'`,
      `'1.7976931348623157e308'`,
      `'5e-324'`,
      `'1e-310'`,
      `'9007199254740993'`,
      `'0.30000000000000004'`,
    ],
    kind: 'float',
    duckType: 'DOUBLE',
  },
  { name: 'c_bool', type: 'boolean', values: ['true', 'false'], kind: 'num', duckType: 'BOOLEAN' },
  { name: 'c_num', type: 'numeric(12,2)', values: ['-9999999999.99', '9999999999.99', '0.01', '-0.01', '0'], kind: 'num', duckType: 'DECIMAL(12,2)' },
  {
    name: 'c_num38',
    type: 'numeric(38,10)',
    values: ['9999999999999999999999999999.9999999999', '-0.0000000001', '12345678901234567890.1234567890'],
    kind: 'num',
    duckType: 'DECIMAL(38,10)',
  },
  { name: 'c_num_negscale', type: 'numeric(3,-2)', values: ['99900', '-12345', '0'], kind: 'num', duckType: 'DECIMAL(5,0)' },
  { name: 'c_num_bigscale', type: 'numeric(2,5)', values: ['0.00099', '-0.00001', '0'], kind: 'num', duckType: 'DECIMAL(5,5)' },
  {
    name: 'c_num_free',
    type: 'numeric',
    values: [
      `'NaN'`,
      `'Infinity'`,
      `'-Infinity'`,
      '123456789012345678901234567890.123456789012345678901234567890',
      '-0.000000000000000000000000000001',
      '1.10',
      '0',
    ],
    kind: 'text',
    duckType: 'VARCHAR',
  },
  { name: 'c_num_wide', type: 'numeric(50,5)', values: ['123456789012345678901234567890123456789012345.12345', '-1.5'], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_money_dom', type: 'amount', values: ['1234567.891', '0.001'], kind: 'num', duckType: 'DECIMAL(10,3)' },
  { name: 'c_text', type: 'text', values: NASTY_TEXTS.slice(0, -1), kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_varchar', type: 'varchar(12)', values: [`'abc'`, `''`, `'é😀'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_char', type: 'char(5)', values: [`'ab'`, `''`, `'abcde'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_name', type: 'name', values: [`'pg_class'`, `'Mixed Case'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_citext', type: 'citext', values: [`'MiXeD'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_enum', type: 'mood', values: [`'happy'`, `'so-so, "meh"'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_short', type: 'short_text', values: [`'dom'`, `''`], kind: 'text', duckType: 'VARCHAR' },
  {
    name: 'c_uuid',
    type: 'uuid',
    values: [`'00000000-0000-0000-0000-000000000000'`, `'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'`, `'550e8400-e29b-41d4-a716-446655440000'`],
    kind: 'text',
    duckType: 'UUID',
  },
  {
    name: 'c_json',
    type: 'json',
    values: [`'{"a" :  12345678901234567890, "a": 1.10, "f": 1e400}'`, `'[]'`, `'"str"'`, `'null'`, `'{"e": "\\u0000 é😀"}'`],
    kind: 'text',
    duckType: 'JSON',
  },
  {
    name: 'c_jsonb',
    type: 'jsonb',
    values: [`'{"big": 123456789012345678901, "f": 1.10, "neg": -0.000000000000000000001, "s": "é😀\\"q"}'`, `'null'`, `'[1, [2, {"x": null}]]'`],
    kind: 'text',
    duckType: 'JSON',
  },
  {
    name: 'c_timestamptz',
    type: 'timestamptz',
    values: [
      `'infinity'`,
      `'-infinity'`,
      `'2024-02-29 23:59:59.999999+00'`,
      `'1969-12-31 23:59:59.999999+00'`,
      `'1970-01-01 00:00:00.000001+00'`,
      `'2024-06-01 12:00:00+05:30'`,
      `'0044-03-15 12:00:00.5+00 BC'`,
      `'4713-11-24 00:00:00+00 BC'`,
      `'0001-01-01 00:00:00+00'`,
      `'10000-01-01 00:00:00+00'`,
      `'294246-12-31 23:59:59.999999+00'`,
    ],
    kind: 'ts',
    duckType: 'TIMESTAMP WITH TIME ZONE',
  },
  {
    name: 'c_timestamp',
    type: 'timestamp',
    values: [
      `'infinity'`,
      `'-infinity'`,
      `'2024-02-29 12:34:56.789012'`,
      `'1969-07-20 20:17:40'`,
      `'0001-12-31 23:59:59.999999 BC'`,
      `'12345-06-07 08:09:10.111213'`,
    ],
    kind: 'ts',
    duckType: 'TIMESTAMP',
  },
  {
    name: 'c_date',
    type: 'date',
    values: [`'infinity'`, `'-infinity'`, `'1969-07-20'`, `'2024-02-29'`, `'0044-03-15 BC'`, `'4714-11-24 BC'`, `'5874897-12-31'`, `'1970-01-01'`],
    kind: 'date',
    duckType: 'DATE',
  },
  { name: 'c_time', type: 'time', values: [`'00:00:00'`, `'24:00:00'`, `'12:34:56.789012'`, `'23:59:59.999999'`], kind: 'time', duckType: 'TIME' },
  {
    name: 'c_timetz',
    type: 'timetz',
    values: [`'00:00:00+15:59'`, `'12:34:56.789012-05:30'`, `'24:00:00-15:59'`, `'12:00:00+05:30:15'`, `'23:59:59.999999+00'`],
    kind: 'timetz',
    duckType: 'TIME WITH TIME ZONE',
  },
  {
    name: 'c_interval',
    type: 'interval',
    values: [
      I('0'),
      I('-1 day +02:03:04.5'),
      I('1 year 2 mons -3 days +04:05:06.5'),
      I('-0.5 sec'),
      I('1 microsecond'),
      I('-1 mon +30 days'),
      I('45 days 30 hours'),
      I('-1 year -2 mons +3 days -04:05:06.000001'),
      EXTREME_NEG_INTERVAL,
      EXTREME_POS_INTERVAL,
    ],
    kind: 'interval',
    duckType: 'INTERVAL',
  },
  { name: 'c_bytea', type: 'bytea', values: [`'\\x'`, `'\\x00'`, `'\\x00ff00deadbeef00'`, `convert_to('é😀', 'UTF8')`], kind: 'bytea', duckType: 'BLOB' },
  {
    name: 'c_money',
    type: 'money',
    values: [`'12.34'`, `'-92233720368547758.08'`, `'92233720368547758.07'`],
    kind: 'text',
    duckType: 'VARCHAR',
    pgText: (c) => `${c}::numeric::text`,
  },
  { name: 'c_inet', type: 'inet', values: [`'10.0.0.1'`, `'::1'`, `'192.168.0.0/24'`, `'2001:db8::1/64'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_cidr', type: 'cidr', values: [`'10.0.0.0/8'`, `'2001:db8::/32'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_macaddr', type: 'macaddr', values: [`'08:00:2b:01:02:03'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_macaddr8', type: 'macaddr8', values: [`'08:00:2b:01:02:03:04:05'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_bit', type: 'bit(4)', values: [`B'1010'`, `B'0000'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_varbit', type: 'varbit', values: [`B'1'`, `B''`, `B'10101010101'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_xml', type: 'xml', values: [`'<a b="1">x &amp; y</a>'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_tsvector', type: 'tsvector', values: [`to_tsvector('english', 'The quick brown foxes')`, `'a:1 ''b c'':2'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_point', type: 'point', values: [`'(1.5,-2)'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_range', type: 'int4range', values: [`'[1,10)'`, `'empty'`, `'(,5]'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_multirange', type: 'int4multirange', values: [`'{[1,3), [5,7)}'`], kind: 'text', duckType: 'VARCHAR' },
  { name: 'c_hstore', type: 'hstore', values: [`'a=>1, "b c"=>NULL'`], kind: 'text', duckType: 'VARCHAR' },
  {
    name: 'c_pair',
    type: 'pair',
    values: [`ROW(1, 'a "b", c')::pair`, `ROW(NULL, NULL)::pair`],
    kind: 'text',
    duckType: 'JSON',
    pgText: (c) => `to_json(${c})::text`,
  },

  // Arrays.
  { name: 'a_int4', type: 'integer[]', values: [`'{}'`, `'{1,NULL,-2147483648}'`, `'{NULL}'`], kind: 'num', array: true, duckType: 'INTEGER[]' },
  { name: 'a_int8', type: 'bigint[]', values: [`'{9223372036854775807,-9223372036854775808}'`], kind: 'num', array: true, duckType: 'BIGINT[]' },
  { name: 'a_float4', type: 'real[]', values: [`'{NaN,Infinity,-Infinity,-0,1.1,3.4028235e38,1e-45}'`], kind: 'float', array: true, duckType: 'FLOAT[]' },
  { name: 'a_float8', type: 'float8[]', values: [`'{NaN,-Infinity,-0,0.1,5e-324,1.7976931348623157e308}'`], kind: 'float', array: true, duckType: 'DOUBLE[]' },
  { name: 'a_bool', type: 'boolean[]', values: [`'{t,f,NULL}'`], kind: 'num', array: true, duckType: 'BOOLEAN[]' },
  { name: 'a_num', type: 'numeric(10,2)[]', values: [`'{1.10,-99999999.99,NULL}'`, `'{}'`], kind: 'num', array: true, duckType: 'DECIMAL(10,2)[]' },
  { name: 'a_num_free', type: 'numeric[]', values: [`'{1.10,NaN,123456789012345678901234567890.5}'`], kind: 'text', array: true, duckType: 'VARCHAR[]' },
  { name: 'a_amount', type: 'amount[]', values: [`ARRAY[1.5, NULL]::amount[]`], kind: 'num', array: true, duckType: 'DECIMAL(10,3)[]' },
  {
    name: 'a_text',
    type: 'text[]',
    values: [`ARRAY[${NASTY_TEXTS.join(', ')}]::text[]`, `'{}'`, `'{NULL}'`, `ARRAY['']`],
    kind: 'text',
    array: true,
    duckType: 'VARCHAR[]',
  },
  { name: 'a_char', type: 'char(3)[]', values: [`ARRAY['a', NULL, 'abc', '']::char(3)[]`], kind: 'text', array: true, duckType: 'VARCHAR[]' },
  { name: 'a_inet', type: 'inet[]', values: [`'{10.0.0.1,192.168.0.0/24,::1}'`], kind: 'text', array: true, duckType: 'VARCHAR[]' },
  { name: 'a_enum', type: 'mood[]', values: [`ARRAY['happy', 'so-so, "meh"', NULL]::mood[]`], kind: 'text', array: true, duckType: 'VARCHAR[]' },
  { name: 'a_uuid', type: 'uuid[]', values: [`'{550e8400-e29b-41d4-a716-446655440000,NULL}'`], kind: 'text', array: true, duckType: 'UUID[]' },
  {
    name: 'a_jsonb',
    type: 'jsonb[]',
    values: [`ARRAY['{"big": 123456789012345678901}', '"s,{}"', NULL]::jsonb[]`],
    kind: 'text',
    array: true,
    duckType: 'JSON[]',
  },
  {
    name: 'a_timestamptz',
    type: 'timestamptz[]',
    values: [`ARRAY['infinity', '-infinity', '2024-02-29 23:59:59.999999+00', '0044-03-15 12:00:00.5+00 BC', NULL]::timestamptz[]`],
    kind: 'ts',
    array: true,
    duckType: 'TIMESTAMP WITH TIME ZONE[]',
  },
  { name: 'a_date', type: 'date[]', values: [`ARRAY['infinity', '1969-07-20', '0044-03-15 BC', NULL]::date[]`], kind: 'date', array: true, duckType: 'DATE[]' },
  { name: 'a_time', type: 'time[]', values: [`ARRAY['24:00:00', '00:00:00.000001']::time[]`], kind: 'time', array: true, duckType: 'TIME[]' },
  {
    name: 'a_interval',
    type: 'interval[]',
    values: [`ARRAY[${I('-1 day +02:03:04.5')}, NULL, ${I('1 year 2 mons -3 days')}, ${EXTREME_NEG_INTERVAL}]`],
    kind: 'interval',
    array: true,
    duckType: 'INTERVAL[]',
  },
  { name: 'a_bytea', type: 'bytea[]', values: [`ARRAY['\\x'::bytea, '\\x00ff00'::bytea, NULL]`], kind: 'bytea', array: true, duckType: 'BLOB[]' },
  { name: 'a_money', type: 'money[]', values: [`ARRAY['1.23'::money, NULL]`], kind: 'text', array: true, duckType: 'VARCHAR[]' },
];

export const ROWS = Math.max(...CASES.map((c) => c.values.length)) + 1; // the last row is all NULL

/** Types, domains and extensions the cases use. */
export const TYPES_SETUP_SQL = `CREATE EXTENSION IF NOT EXISTS citext; CREATE EXTENSION IF NOT EXISTS hstore;
  CREATE TYPE mood AS ENUM ('happy', 'so-so, "meh"');
  CREATE TYPE pair AS (n int, t text);
  CREATE DOMAIN amount AS numeric(10,3) CHECK (VALUE > 0);
  CREATE DOMAIN short_text AS text CHECK (length(VALUE) < 10);`;

/** Column definitions of the cases, for CREATE TABLE. */
export function caseColumnDefs(cases: Case[] = CASES): string {
  return cases.map((c) => `${q(c.name)} ${c.type}`).join(',\n');
}

/** The generated column every edge table carries (a generated column syncs like any other). */
/**
 * Every case's values as rows `0..ROWS-1` of `table` (id = row index; the last row all NULL), in one
 * transaction, so the rows share one `now()` and batches split rows of one cursor value.
 */
export function everyTypeRowsSql(table: string): string {
  const columns = CASES.map((c) => q(c.name)).join(', ');
  const inserts = [];
  for (let i = 0; i < ROWS; i++) inserts.push(`INSERT INTO ${q(table)} (id, ${columns}) VALUES (${i}, ${CASES.map((c) => c.values[i] ?? 'NULL').join(', ')});`);
  return `BEGIN; ${inserts.join('\n')} COMMIT;`;
}

export const GENERATED_CASE: Case = { name: 'c_gen', type: 'text', values: [], kind: 'text', duckType: 'VARCHAR' };

export type ReadColumn = (sql: string) => Promise<(string | null)[]>;

/**
 * Compare every case column of `table` value by value: `readPg`/`readDuck` run a one-column SELECT
 * (the canonical expression) over the table ordered by its key and return the texts.
 * `duckTypes` (column → DuckDB type) are checked too. Returns the problems (empty: equal) and the count compared.
 */
export async function compareCases(
  cases: Case[],
  readPg: ReadColumn,
  readDuck: ReadColumn,
  duckTypes: Map<string, string>,
  rows: number,
): Promise<{ problems: string[]; compared: number }> {
  const problems: string[] = [];
  let compared = 0;
  for (const c of cases) {
    if (duckTypes.get(c.name) !== c.duckType) problems.push(`${c.name}: DuckDB type ${duckTypes.get(c.name)}, expected ${c.duckType}`);
    const col = q(c.name);
    let pgSql: string;
    let duckSql: string;
    if (!c.array) {
      pgSql = c.kind === 'text' ? (c.pgText ? c.pgText(col) : col) : PG_CANON[c.kind](col);
      duckSql = DUCK_CANON[c.kind](col);
    } else if (c.kind === 'text') {
      pgSql = c.name === 'a_money' ? `${col}::numeric[]` : col; // raw array text, parsed below
      duckSql = `CAST(to_json(list_transform(${col}, lambda x: CAST(x AS VARCHAR))) AS VARCHAR)`;
    } else {
      pgSql =
        `CASE WHEN ${col} IS NULL THEN NULL ELSE coalesce((SELECT json_agg(${PG_CANON[c.kind]('u.e')} ORDER BY u.o) ` +
        `FROM unnest(${col}) WITH ORDINALITY AS u (e, o)), '[]') END::text`;
      duckSql = `CAST(to_json(list_transform(${col}, lambda x: ${DUCK_CANON[c.kind]('x')})) AS VARCHAR)`;
    }
    const pgVals = await readPg(pgSql);
    const duckVals = await readDuck(duckSql);
    assert.equal(pgVals.length, rows, `${c.name}: Postgres rows`);
    assert.equal(duckVals.length, rows, `${c.name}: DuckDB rows`);
    for (let i = 0; i < rows; i++) {
      let a: unknown = pgVals[i];
      let b: unknown = duckVals[i];
      if (c.array && a !== null) a = c.kind === 'text' ? parsePgArray(a as string) : JSON.parse(a as string);
      if (c.array && b !== null) b = JSON.parse(b as string);
      if (c.kind === 'num' && typeof b === 'string') b = b.replace(/^(-?)\./, '$10.'); // DuckDB prints DECIMAL(5,5) as .00099
      if (c.kind === 'float') {
        const norm = (v: unknown) => (v === null ? null : Array.isArray(v) ? v.map((x) => (x === null ? null : normFloat(x))) : normFloat(v as string));
        a = norm(a);
        b = norm(b);
      }
      compared++;
      if (JSON.stringify(a) !== JSON.stringify(b)) problems.push(`${c.name} row ${i}: Postgres ${JSON.stringify(a)} ≠ DuckDB ${JSON.stringify(b)}`);
    }
  }
  return { problems, compared };
}
