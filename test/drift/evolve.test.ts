/**
 * schema_evolution: evolve — each drift case happens while the pipeline is mid-stream: a run is
 * killed between batches (PGDUCK_FAULT=after-checkpoint:N), the source changes, the next run resumes
 * through the change. The target must then equal the source, column by column, row by row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { driftCase } from './drift-fixture.js';

describe('drift under schema_evolution: evolve, mid-stream', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('added columns mid-bootstrap: added before their data lands; ADD COLUMN … DEFAULT backfilled for rows already loaded', async () => {
    const c = await driftCase(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:2'); // 20 of 60 rows loaded
      const cp = c.checkpoint();
      assert.equal(cp?.rowsTotal, 20);
      await c.sql(`ALTER TABLE items ADD COLUMN region text NOT NULL DEFAULT 'eu';
                   ALTER TABLE items ADD COLUMN tier int DEFAULT 7;
                   ALTER TABLE items ADD COLUMN memo text;`);
      await c.sql(`UPDATE items SET region = 'us', memo = 'moved' WHERE id IN (5, 45)`);
      await c.sync();
      await c.assertSynced();
      const rows = await c.duck(
        `SELECT count(*) FILTER (region = 'eu')::INT AS eu, count(*) FILTER (tier = 7)::INT AS t7, count(memo)::INT AS memos FROM items`,
      );
      assert.deepEqual(rows[0], { eu: 58, t7: 60, memos: 2 });
      const kinds = c.events().map((e) => e.kind);
      assert.equal(kinds.filter((k) => k === 'added').length, 3, 'each added column reported once');
      assert.ok(
        c.events().some((e) => e.kind === 'backfilled' && /"region", "tier"/.test(e.detail) && /re-read/.test(e.detail)),
        JSON.stringify(c.events()),
      );
      assert.deepEqual(
        c.backfills().map((b) => b.finishedAt !== null),
        [true],
      );
      // Nothing more to do: a second run changes nothing.
      await c.sync();
      await c.assertSynced();
      assert.equal(c.events().filter((e) => e.kind === 'added').length, 3);
    } finally {
      c.cleanup();
    }
  });

  test('a column added with no default is not backfilled (every existing row holds NULL)', async () => {
    const c = await driftCase(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:3');
      await c.sql(`ALTER TABLE items ADD COLUMN memo text`);
      await c.sync();
      await c.assertSynced();
      assert.ok(c.events().some((e) => e.kind === 'backfilled' && /not needed/.test(e.detail)));
    } finally {
      c.cleanup();
    }
  });

  test('mid-incremental: a volatile DEFAULT and a generated column (both rewrite existing rows without moving updated_at)', async () => {
    const c = await driftCase(pgs);
    try {
      await c.sync();
      await c.sql(`UPDATE items SET qty = qty + 1 WHERE id % 2 = 0`); // 30 changed rows: 3 batches
      await c.runUntilKilled('after-checkpoint:1');
      await c.sql(`ALTER TABLE items ADD COLUMN lucky int DEFAULT (random() * 1000000)::int;
                   ALTER TABLE items ADD COLUMN total numeric(12,2) GENERATED ALWAYS AS (qty * price) STORED;
                   ALTER TABLE items ADD COLUMN label text GENERATED ALWAYS AS (upper(name)) VIRTUAL;`);
      await c.sync();
      await c.assertSynced();
      const rows = await c.duck(`SELECT count(lucky)::INT AS lucky, count(total)::INT AS total, count(label)::INT AS label FROM items`);
      assert.deepEqual(rows[0], { lucky: 60, total: 60, label: 60 });
    } finally {
      c.cleanup();
    }
  });

  test('widened types, a widened primary key (table rebuilt) and retyped columns re-read, mid-stream', async () => {
    const c = await driftCase(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:3');
      await c.sql(`ALTER TABLE items ALTER COLUMN qty TYPE bigint;
                   ALTER TABLE items ALTER COLUMN price TYPE numeric(14,4);
                   ALTER TABLE items ALTER COLUMN code TYPE text;
                   ALTER TABLE items ALTER COLUMN id TYPE bigint;
                   SET TimeZone = 'America/New_York';
                   ALTER TABLE items ALTER COLUMN flag TYPE text;
                   ALTER TABLE items ALTER COLUMN at TYPE timestamptz;`);
      // Values only the new types hold, in rows loaded before and after the change.
      await c.sql(`UPDATE items SET qty = 1099511627776, price = 123456789.1234 WHERE id IN (2, 50);
                   INSERT INTO items (id, name, qty) VALUES (9007199254740993, 'big key', -9007199254740993)`);
      await c.sync();
      await c.assertSynced();
      const types = await c.duck(
        `SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position`,
      );
      assert.deepEqual(Object.fromEntries(types.map((r) => [r.c, r.t])), {
        id: 'BIGINT',
        name: 'VARCHAR',
        qty: 'BIGINT',
        price: 'DECIMAL(14,4)',
        code: 'VARCHAR',
        flag: 'VARCHAR',
        at: 'TIMESTAMP WITH TIME ZONE',
        updated_at: 'TIMESTAMP WITH TIME ZONE',
        deleted_at: 'TIMESTAMP WITH TIME ZONE',
      });
      const pk = await c.duck(`SELECT constraint_column_names AS k FROM duckdb_constraints() WHERE table_name = 'items' AND constraint_type = 'PRIMARY KEY'`);
      assert.deepEqual(pk[0].k, ['id'], 'the rebuilt table keeps its primary key');
      const current = await c.duck(`SELECT count(*)::INT AS n, max(id)::BIGINT::VARCHAR AS top FROM items_current`);
      assert.deepEqual(current[0], { n: 55, top: '9007199254740993' }, 'the _current view survives the rebuild');
      const kinds = c.events().map((e) => `${e.kind}: ${e.detail}`);
      assert.ok(
        kinds.some((e) => /^widened: column "id" widened from INTEGER to BIGINT.*key column: table rebuilt/.test(e)),
        kinds.join('\n'),
      );
      assert.ok(
        kinds.some((e) => /^retyped: source column "flag" changed type \(character\(5\) → text\).*re-read/.test(e)),
        kinds.join('\n'),
      );
      assert.ok(
        kinds.some((e) => /^retyped: source column "code"/.test(e)),
        'varchar(10) → text reported, nothing to re-read',
      );
      await c.sync();
      await c.assertSynced();
    } finally {
      c.cleanup();
    }
  });

  test('dropped column: kept in DuckDB, NULL for rows written afterwards, reported once', async () => {
    const c = await driftCase(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:2');
      await c.sql(`ALTER TABLE items DROP COLUMN name`);
      await c.sql(`UPDATE items SET qty = 0 WHERE id IN (3, 33)`);
      await c.sync();
      await c.assertSynced();
      const rows = await c.duck(`SELECT id::INT AS id, name FROM items WHERE id IN (1, 3, 33, 60) ORDER BY id`);
      assert.deepEqual(rows, [
        { id: 1, name: 'item 1' }, // loaded before the drop: kept
        { id: 3, name: null }, // written after the drop
        { id: 33, name: null },
        { id: 60, name: null },
      ]);
      await c.sql(`UPDATE items SET qty = 1 WHERE id = 4`);
      await c.sync();
      assert.equal(c.events().filter((e) => e.kind === 'dropped').length, 1);
      assert.match(c.events().find((e) => e.kind === 'dropped')?.detail ?? '', /"name" was dropped: kept in items, NULL for rows written from now on/);
    } finally {
      c.cleanup();
    }
  });

  test('renamed columns (same attnum) are renamed, not dropped and added; a swap of two names too', async () => {
    const c = await driftCase(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:2');
      await c.sql(`ALTER TABLE items RENAME COLUMN qty TO quantity;
                   ALTER TABLE items RENAME COLUMN code TO tmp;
                   ALTER TABLE items RENAME COLUMN name TO code;
                   ALTER TABLE items RENAME COLUMN tmp TO name;`);
      await c.sync();
      await c.assertSynced();
      const cols = await c.duck(`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position`);
      assert.deepEqual(
        cols.map((r) => r.c),
        ['id', 'code', 'quantity', 'price', 'name', 'flag', 'at', 'updated_at', 'deleted_at'],
      );
      const row = await c.duck(`SELECT code, quantity::INT AS quantity, name FROM items WHERE id = 1`);
      assert.deepEqual(row[0], { code: 'item 1', quantity: 3, name: 'C1' });
      assert.equal(c.events().filter((e) => e.kind === 'renamed').length, 1);
      assert.equal(c.events().filter((e) => e.kind === 'added' || e.kind === 'dropped').length, 0);
    } finally {
      c.cleanup();
    }
  });

  test('a dropped column added again under the same name replaces the kept one, and is backfilled', async () => {
    const c = await driftCase(pgs);
    try {
      await c.sync();
      await c.sql(`ALTER TABLE items DROP COLUMN name`);
      await c.sql(`UPDATE items SET qty = 0 WHERE id = 7`);
      await c.sync();
      await c.sql(`ALTER TABLE items ADD COLUMN name int DEFAULT 42`);
      await c.sql(`UPDATE items SET qty = 1 WHERE id % 3 = 0`);
      await c.runUntilKilled('after-checkpoint:1');
      await c.sync();
      await c.assertSynced();
      const types = await c.duck(`SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'name'`);
      assert.equal(types[0].t, 'INTEGER');
      assert.ok(c.events().some((e) => e.kind === 'added' && /replacing the kept column/.test(e.detail)));
    } finally {
      c.cleanup();
    }
  });
});
