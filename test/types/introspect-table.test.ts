import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { introspectPrimaryKey, introspectTable } from '../../src/postgres/introspect-table.js';
import { isRefused, mapColumn } from '../../src/schema/type-map.js';
import type { PgColumn } from '../../src/schema/column.js';

let pgs: TestPostgres;
let raw: pg.Client; // connectPostgres: every value arrives as text
let parsed: pg.Client; // pg's default parsers

const SCHEMA = 'Odd "Schema"';
// format_type qualifies a type outside the search_path, which is what a `$1::type` cast needs.
const Q = '"Odd ""Schema""".';

before(async () => {
  pgs = await startPostgres();
  const url = await pgs.createDatabase('introspect');
  await pgs.query(
    url,
    `CREATE SCHEMA "Odd ""Schema""";
     SET search_path = "Odd ""Schema""", public;
     CREATE TYPE mood AS ENUM ('happy', 'sad');
     CREATE DOMAIN amount AS numeric(12,2) CHECK (VALUE >= 0);
     CREATE DOMAIN amount2 AS amount;
     CREATE DOMAIN label AS varchar(20);
     CREATE DOMAIN int_list AS int[];
     CREATE TABLE orders (
       b int NOT NULL,
       a text NOT NULL,
       dropped_soon int,
       total amount,
       total2 amount2,
       tag label,
       mood mood,
       moods mood[],
       ints int[],
       ints_dom int_list,
       amounts amount[],
       prices numeric(10,2)[],
       neg numeric(3,-2),
       free numeric,
       ts timestamptz(3),
       doubled int GENERATED ALWAYS AS (b * 2) STORED,
       PRIMARY KEY (b, a)
     );
     ALTER TABLE orders DROP COLUMN dropped_soon;
     CREATE VIEW orders_view AS SELECT a, total FROM orders;
     CREATE TABLE events (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
     CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE empty_one ();
     CREATE TABLE "Mixed Case" (id int);`,
  );
  raw = await connectPostgres(url);
  parsed = new pg.Client({ connectionString: url });
  await parsed.connect();
});

after(async () => {
  await raw?.end();
  await parsed?.end();
  await pgs?.stop();
});

const byName = (cols: PgColumn[]) => Object.fromEntries(cols.map((c) => [c.name, c]));

describe('introspectTable', () => {
  test('resolves domains, arrays, enums, numeric typmods and generated columns', async () => {
    const cols = await introspectTable(raw, SCHEMA, 'orders');
    assert.ok(cols);
    assert.deepEqual(
      cols.map((c) => [c.name, c.attnum]),
      [
        ['b', 1],
        ['a', 2],
        ['total', 4],
        ['total2', 5],
        ['tag', 6],
        ['mood', 7],
        ['moods', 8],
        ['ints', 9],
        ['ints_dom', 10],
        ['amounts', 11],
        ['prices', 12],
        ['neg', 13],
        ['free', 14],
        ['ts', 15],
        ['doubled', 16],
      ],
      'attnum order, dropped column skipped, attnums kept',
    );
    const c = byName(cols);
    assert.deepEqual(c.b, {
      name: 'b',
      attnum: 1,
      declaredType: 'integer',
      baseType: 'integer',
      typname: 'int4',
      typtype: 'b',
      elemTypname: null,
      elemTyptype: null,
      numericPrecision: null,
      numericScale: null,
      notNull: true,
      generated: false,
    });
    assert.deepEqual(
      [c.total.declaredType, c.total.baseType, c.total.typname, c.total.typtype, c.total.numericPrecision, c.total.numericScale],
      [`${Q}amount`, 'numeric(12,2)', 'numeric', 'b', 12, 2],
    );
    assert.deepEqual([c.total2.declaredType, c.total2.baseType, c.total2.numericPrecision, c.total2.numericScale], [`${Q}amount2`, 'numeric(12,2)', 12, 2]);
    assert.deepEqual([c.tag.baseType, c.tag.typname], ['character varying(20)', 'varchar']);
    assert.deepEqual([c.mood.typname, c.mood.typtype], ['mood', 'e']);
    assert.deepEqual([c.moods.typname, c.moods.elemTypname, c.moods.elemTyptype], ['_mood', 'mood', 'e']);
    assert.deepEqual([c.ints.typname, c.ints.baseType, c.ints.elemTypname, c.ints.elemTyptype], ['_int4', 'integer[]', 'int4', 'b']);
    assert.deepEqual([c.ints_dom.declaredType, c.ints_dom.typname, c.ints_dom.elemTypname], [`${Q}int_list`, '_int4', 'int4']);
    assert.deepEqual(
      [c.amounts.declaredType, c.amounts.baseType, c.amounts.typname, c.amounts.elemTypname, c.amounts.numericPrecision, c.amounts.numericScale],
      [`${Q}amount[]`, 'numeric(12,2)[]', '_numeric', 'numeric', 12, 2],
    );
    assert.deepEqual([c.prices.baseType, c.prices.numericPrecision, c.prices.numericScale], ['numeric(10,2)[]', 10, 2]);
    assert.deepEqual([c.neg.numericPrecision, c.neg.numericScale], [3, -2]);
    assert.deepEqual([c.free.numericPrecision, c.free.numericScale], [null, null]);
    assert.equal(c.ts.baseType, 'timestamp(3) with time zone');
    assert.equal(c.doubled.generated, true);
    assert.equal(c.a.notNull, true);

    const duck = Object.fromEntries(
      cols.map((col) => {
        const m = mapColumn(col);
        return [col.name, isRefused(m) ? `refused: ${m.reason}` : m.duckType];
      }),
    );
    assert.deepEqual(duck, {
      b: 'INTEGER',
      a: 'VARCHAR',
      total: 'DECIMAL(12,2)',
      total2: 'DECIMAL(12,2)',
      tag: 'VARCHAR',
      mood: 'VARCHAR',
      moods: 'VARCHAR[]',
      ints: 'INTEGER[]',
      ints_dom: 'INTEGER[]',
      amounts: 'DECIMAL(12,2)[]',
      prices: 'DECIMAL(10,2)[]',
      neg: 'DECIMAL(5,0)',
      free: 'VARCHAR',
      ts: 'TIMESTAMPTZ',
      doubled: 'INTEGER',
    });
  });

  test('a default pg client (parsed values) reads the same', async () => {
    assert.deepEqual(await introspectTable(parsed, SCHEMA, 'orders'), await introspectTable(raw, SCHEMA, 'orders'));
  });

  test('views, partitioned tables, empty tables and exact (case-sensitive) names', async () => {
    assert.deepEqual(
      (await introspectTable(raw, SCHEMA, 'orders_view'))?.map((c) => [c.name, c.declaredType]),
      [
        ['a', 'text'],
        ['total', `${Q}amount`],
      ],
    );
    assert.deepEqual(
      (await introspectTable(raw, SCHEMA, 'events'))?.map((c) => c.typname),
      ['int8', 'date'],
    );
    assert.deepEqual(await introspectTable(raw, SCHEMA, 'empty_one'), []);
    assert.deepEqual(
      (await introspectTable(raw, SCHEMA, 'Mixed Case'))?.map((c) => c.name),
      ['id'],
    );
    assert.equal(await introspectTable(raw, SCHEMA, 'mixed case'), null);
  });

  test('missing table or schema → null; names are parameters, never SQL', async () => {
    assert.equal(await introspectTable(raw, SCHEMA, 'nope'), null);
    assert.equal(await introspectTable(raw, 'nope', 'orders'), null);
    assert.equal(await introspectTable(raw, 'public', "orders'; DROP TABLE orders; --"), null);
    assert.equal(await introspectTable(raw, SCHEMA, 'orders_b_a_pkey'), null, 'an index is not a source');
    assert.ok(await introspectTable(raw, SCHEMA, 'orders'));
  });
});

describe('introspectPrimaryKey', () => {
  test('composite key in key order (not column order)', async () => {
    assert.deepEqual(await introspectPrimaryKey(raw, SCHEMA, 'orders'), ['b', 'a']);
    assert.deepEqual(await introspectPrimaryKey(parsed, SCHEMA, 'orders'), ['b', 'a']);
  });
  test('partitioned table', async () => {
    assert.deepEqual(await introspectPrimaryKey(raw, SCHEMA, 'events'), ['id', 'at']);
  });
  test('no key or no table → null', async () => {
    assert.equal(await introspectPrimaryKey(raw, SCHEMA, 'orders_view'), null);
    assert.equal(await introspectPrimaryKey(raw, SCHEMA, 'Mixed Case'), null);
    assert.equal(await introspectPrimaryKey(raw, SCHEMA, 'nope'), null);
  });
});
