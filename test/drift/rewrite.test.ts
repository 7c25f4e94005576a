/**
 * Values Postgres rewrote without moving the cursor. A rewriting ALTER … TYPE re-rounds or re-prints
 * every stored value, and moves the table's relfilenode: the run that sees it moved re-reads every
 * existing row (source-guard.ts), even when the catalog ends where it began. The re-read replaces the
 * rows (DELETE + INSERT), since DuckDB's UPDATE keeps a value that merely compares equal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { driftCase } from './drift-fixture.js';

const SETUP = `
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
CREATE TABLE items (
  id         int PRIMARY KEY,
  num_val    numeric(5,2),
  iv         interval,
  label      text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour'
);
CREATE INDEX items_updated_at_id ON items (updated_at, id);
CREATE TRIGGER touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO items (id, num_val, iv, label)
SELECT g, CASE g WHEN 1 THEN 123.45 ELSE g + 0.25 END, CASE g WHEN 1 THEN interval '42 days' ELSE g * interval '1 day' END, 'l' || g
FROM generate_series(1, 25) g;`;

describe('rewrites the cursor does not see', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('numeric(5,2) → numeric(6,1) is refused; then → numeric: the rounded values are re-read', async () => {
    const c = await driftCase(pgs, { setup: SETUP });
    try {
      await c.sync();
      const before = c.checkpoint();
      await c.sql(`ALTER TABLE items ALTER COLUMN num_val TYPE numeric(6,1)`);
      const res = await c.run();
      assert.equal(res.code, 4, res.stdout);
      assert.match(res.stdout, /column "num_val" changed type \(numeric\(5,2\) → numeric\(6,1\)\)/);
      assert.deepEqual(c.checkpoint()?.position, before?.position);
      await c.sql(`ALTER TABLE items ALTER COLUMN num_val TYPE numeric`);
      await c.sync();
      assert.deepEqual(await c.duck(`SELECT num_val FROM items WHERE id = 1`), [{ num_val: '123.5' }]);
      await c.assertSynced();
    } finally {
      c.cleanup();
    }
  });

  test('numeric(5,2) → numeric(6,1) → numeric(5,2) between two runs: the catalog looks unchanged, the values are re-read', async () => {
    const c = await driftCase(pgs, { setup: SETUP });
    try {
      await c.sync();
      await c.sync();
      assert.equal(c.backfills().length, 0, 'no rewrite, no re-read');
      await c.sql(`ALTER TABLE items ALTER COLUMN num_val TYPE numeric(6,1); ALTER TABLE items ALTER COLUMN num_val TYPE numeric(5,2)`);
      await c.sync();
      assert.deepEqual(await c.duck(`SELECT num_val::VARCHAR AS v FROM items WHERE id = 1`), [{ v: '123.50' }]);
      await c.assertSynced();
      const rewritten = c.backfills().filter((b) => b.reason === 'rewritten');
      assert.equal(rewritten.length, 1);
      assert.equal(rewritten[0].rowsDone, 25);
      assert.ok(rewritten[0].finishedAt);
      assert.deepEqual(
        rewritten[0].columns.map((col) => col.name),
        ['num_val', 'iv', 'label'],
        'every column but key and cursor',
      );
      // The re-read is recorded with the relfilenode: the next run does not read again.
      await c.sync();
      assert.equal(c.backfills().length, 1);
    } finally {
      c.cleanup();
    }
  });

  test('an interval justified in place (42 days → 1 mon 12 days, equal in DuckDB) replaces the old value', async () => {
    const c = await driftCase(pgs, { setup: SETUP });
    try {
      await c.sync();
      await c.sql(`ALTER TABLE items ALTER COLUMN iv TYPE interval USING justify_days(iv)`);
      await c.sync();
      assert.deepEqual(await c.sql(`SELECT iv::text AS iv FROM items WHERE id = 1`), [{ iv: '1 mon 12 days' }]);
      // Months and days apart, as Postgres holds them (compareTables prints months differently on each side).
      assert.deepEqual(await c.duck(`SELECT datepart('month', iv)::INT AS m, datepart('day', iv)::INT AS d FROM items WHERE id = 1`), [{ m: 1, d: 12 }]);
      const n = await c.duck(`SELECT count(*)::INT AS n FROM items WHERE datepart('month', iv) = 0 AND datepart('day', iv) = id`);
      assert.equal(n[0].n, 24, 'the other rows kept their values');
    } finally {
      c.cleanup();
    }
  });
});
