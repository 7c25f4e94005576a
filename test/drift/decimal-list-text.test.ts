/**
 * A numeric array whose DuckDB column turns from DECIMAL(p,s)[] into VARCHAR[] (numeric(1,1)[] →
 * numeric[], numeric(2,2)[] → numeric(40,2)[]): the existing elements keep Postgres' text, leading
 * zero included (DuckDB's own DECIMAL → VARCHAR cast prints 0.1 as `.1`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { driftCase } from './drift-fixture.js';
import { assertVerified } from '../support/sync-checks.js';
import { alterUsing } from '../../src/schema/type-change.js';

const SETUP = `
CREATE TABLE items (
  id         int PRIMARY KEY,
  a          numeric(1,1)[],
  b          numeric(2,2)[],
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour'
);
CREATE INDEX items_updated_at_id ON items (updated_at, id);
INSERT INTO items (id, a, b) VALUES
  (1, '{0.1,-0.1,0.0}', '{0.12,-0.10,0.00}'),
  (2, '{}', NULL),
  (3, '{NULL,0.9}', '{-0.99}');`;

describe('DECIMAL lists turned to text', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('the USING expression fixes every element, not only a scalar', () => {
    assert.match(alterUsing('"a"', 'DECIMAL(1,1)[]', 'VARCHAR[]') ?? '', /^list_transform\("a", lambda pgduck_e: regexp_replace\(CAST\(pgduck_e AS VARCHAR\)/);
    assert.equal(alterUsing('"a"', 'INTEGER[]', 'VARCHAR[]'), null);
  });

  test('numeric(1,1)[] → numeric[] and numeric(2,2)[] → numeric(40,2)[]: elements as Postgres prints them', async () => {
    const c = await driftCase(pgs, { setup: SETUP });
    try {
      await c.sync();
      // numeric(1,1)[] → numeric[] does not rewrite the table (no re-read): DuckDB's ALTER alone must print the elements right.
      await c.sql(`ALTER TABLE items ALTER COLUMN a TYPE numeric[]`);
      await c.sync();
      assert.deepEqual(await c.duck(`SELECT a::VARCHAR AS a FROM items ORDER BY id`), [{ a: '[0.1, -0.1, 0.0]' }, { a: '[]' }, { a: '[NULL, 0.9]' }]);
      assert.equal(c.backfills().length, 0, 'no re-read hid the conversion');
      // numeric(2,2)[] → numeric(40,2)[] rewrites it (re-read as well).
      await c.sql(`ALTER TABLE items ALTER COLUMN b TYPE numeric(40,2)[]`);
      await c.sync();
      const rows = await c.duck(`SELECT id, typeof(a) AS ta, a::VARCHAR AS a, b::VARCHAR AS b FROM items ORDER BY id`);
      assert.deepEqual(rows, [
        { id: 1, ta: 'VARCHAR[]', a: '[0.1, -0.1, 0.0]', b: '[0.12, -0.10, 0.00]' },
        { id: 2, ta: 'VARCHAR[]', a: '[]', b: null },
        { id: 3, ta: 'VARCHAR[]', a: '[NULL, 0.9]', b: '[-0.99]' },
      ]);
      // pgduck verify compares element values canonically (compareTables reads a VARCHAR[] as strings).
      await assertVerified(c.ws, c.url);
    } finally {
      c.cleanup();
    }
  });
});
