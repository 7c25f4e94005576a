/**
 * Found by review: column selection (`source.columns`) meeting drift between runs. Each case ran with
 * every run reporting success and left wrong or stale values in DuckDB: a column whose previous name
 * was not synced (unselected, or left behind by freeze) took over a target column holding another
 * column's values (src/schema/plan-drift.ts, `cameBack`: replaced and backfilled, or under freeze
 * re-read); a synced column renamed to a name the selection leaves out is now refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';

const SQL = `
CREATE TABLE items (
  id bigint PRIMARY KEY,
  a text,
  b text,
  deleted_at timestamptz,
  gone_at timestamptz,
  updated_at timestamptz NOT NULL
);
CREATE INDEX ON items (updated_at, id);
INSERT INTO items
SELECT i, 'A' || i, 'B' || i, CASE WHEN i % 3 = 0 THEN now() - interval '2 hours' END, NULL,
       clock_timestamp() - interval '1 hour' + i * interval '1 second'
FROM generate_series(1, 6) AS i;`;

/** The pipeline file of `items`: `source` adds lines under source:, `rest` at the top level. */
function itemsPipeline(source: string, rest = ''): string {
  return `source:\n  table: public.items\n  primary_key: id\n${source}${rest}target:\n  table: items\nbatch_size: 10\n`;
}

async function duck(ws: Workspace, sql: string): Promise<Record<string, unknown>[]> {
  return withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true });
}

describe('review: source.columns and drift between runs', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('include: a synced column dropped and an unselected column renamed to its name in one step: DuckDB takes the renamed column values', async () => {
    const url = await pgs.createDatabase('rv_include_drop_rename');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', itemsPipeline('  columns:\n    include: [id, a, updated_at]\n'));
      await runOnce(ws, url);
      assert.deepEqual(
        await duck(ws, `SELECT id::INT AS id, a FROM items ORDER BY id`),
        [1, 2, 3, 4, 5, 6].map((i) => ({ id: i, a: `A${i}` })),
      );
      // One step between runs: the synced "a" goes, the unselected "b" takes its name (and the include list's slot).
      await pgs.query(url, `ALTER TABLE items DROP COLUMN a; ALTER TABLE items RENAME COLUMN b TO a;`);
      await pgs.query(url, `UPDATE items SET updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 2`);
      await runOnce(ws, url);
      await runOnce(ws, url);
      const pg = (await pgs.query(url, `SELECT id::int AS id, a FROM items ORDER BY id`)).rows;
      assert.deepEqual(
        pg,
        [1, 2, 3, 4, 5, 6].map((i) => ({ id: i, a: `B${i}` })),
      );
      // Postgres' "a" is the former "b" for every row; DuckDB must hold the same.
      assert.deepEqual(await duck(ws, `SELECT id::INT AS id, a FROM items ORDER BY id`), pg);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });

  test('include: the soft_delete column dropped and an unselected timestamp renamed to its name: the tombstones are the renamed column, _current shows every live row', async () => {
    const url = await pgs.createDatabase('rv_include_softdelete');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', itemsPipeline('  soft_delete: deleted_at\n  columns:\n    include: [id, a, deleted_at, updated_at]\n'));
      await runOnce(ws, url);
      assert.deepEqual(await duck(ws, `SELECT list(id::INT ORDER BY id) AS ids FROM items_current`), [{ ids: [1, 2, 4, 5] }]);
      // The old tombstone column goes; gone_at (NULL everywhere, never synced) takes its name.
      await pgs.query(url, `ALTER TABLE items DROP COLUMN deleted_at; ALTER TABLE items RENAME COLUMN gone_at TO deleted_at;`);
      await pgs.query(url, `UPDATE items SET updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 1`);
      await runOnce(ws, url);
      const pg = (await pgs.query(url, `SELECT id::int AS id, deleted_at IS NOT NULL AS tomb FROM items ORDER BY id`)).rows;
      assert.ok(pg.every((r) => r.tomb === false));
      assert.deepEqual(await duck(ws, `SELECT id::INT AS id, deleted_at IS NOT NULL AS tomb FROM items ORDER BY id`), pg);
      assert.deepEqual(await duck(ws, `SELECT list(id::INT ORDER BY id) AS ids FROM items_current`), [{ ids: [1, 2, 3, 4, 5, 6] }]);
    } finally {
      ws.cleanup();
    }
  });

  test('freeze: a column renamed (the old one gets NULL) and renamed back later: the rows changed meanwhile are re-read', async () => {
    const url = await pgs.createDatabase('rv_freeze_rename_back');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', itemsPipeline('', 'schema_evolution: freeze\n'));
      await runOnce(ws, url);
      await pgs.query(url, `ALTER TABLE items RENAME COLUMN a TO a2`);
      await pgs.query(url, `UPDATE items SET a2 = 'changed', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 4`);
      await runOnce(ws, url); // documented: "a" gets NULL for row 4
      assert.deepEqual(await duck(ws, `SELECT a FROM items WHERE id = 4`), [{ a: null }]);
      await pgs.query(url, `ALTER TABLE items RENAME COLUMN a2 TO a`);
      await pgs.query(url, `UPDATE items SET b = 'x', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 5`);
      await runOnce(ws, url);
      await runOnce(ws, url);
      const pg = (await pgs.query(url, `SELECT id::int AS id, a, b FROM items ORDER BY id`)).rows;
      assert.equal(pg[3].a, 'changed');
      // "a" is synced again under its own name: it must hold what Postgres holds.
      assert.deepEqual(await duck(ws, `SELECT id::INT AS id, a, b FROM items ORDER BY id`), pg);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });

  test('exclude: a synced column renamed to a name the exclude list names: refused, the synced column kept as it was', async () => {
    const url = await pgs.createDatabase('rv_exclude_rename_into');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', itemsPipeline('  columns:\n    exclude: [secret]\n'));
      await runOnce(ws, url);
      await pgs.query(url, `ALTER TABLE items RENAME COLUMN a TO secret`);
      await pgs.query(url, `UPDATE items SET b = 'y', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 2`);
      let failed: unknown = null;
      try {
        await runOnce(ws, url);
      } catch (err) {
        failed = err;
      }
      const cols = (await duck(ws, `SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position`)).map(
        (r) => r.column_name,
      );
      // Refused, as a synced column newly excluded is: nothing loaded, the column kept under its old name with its values.
      assert.ok(failed !== null, 'the run refuses');
      assert.match(String((failed as Error).message), /renamed to a name source\.columns in .* leaves out/);
      assert.ok(!cols.includes('secret') && cols.includes('a'), `DuckDB columns: ${cols.join(', ')}`);
      assert.deepEqual(
        (await duck(ws, `SELECT a FROM items ORDER BY id`)).map((r) => r.a),
        ['A1', 'A2', 'A3', 'A4', 'A5', 'A6'],
      );
    } finally {
      ws.cleanup();
    }
  });
});
