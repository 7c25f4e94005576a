/**
 * soft_delete_mode: keep (default) leaves a tombstoned row in the table with its tombstone; remove
 * takes it out. Un-deleting brings it back in both modes; `_current`, verify and a replay from the
 * Parquet history agree with the mode; switching keep → remove removes the tombstones already loaded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const SQL = `
CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL, deleted_at timestamptz);
CREATE INDEX ON items (updated_at, id);
INSERT INTO items SELECT i, 'item ' || i, clock_timestamp() - interval '1 hour' + i * interval '1 second',
  CASE WHEN i = 2 THEN clock_timestamp() - interval '1 hour' END
FROM generate_series(1, 6) AS i;`;

const PIPELINE = (mode: 'keep' | 'remove' | null) =>
  `source:\n  table: public.items\n  primary_key: id\n  soft_delete: deleted_at\n${mode ? `  soft_delete_mode: ${mode}\n` : ''}target:\n  table: items\nbatch_size: 4\n`;

describe('soft_delete_mode', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('remove: tombstoned rows leave the table, un-deleted ones come back; verify, _current and replay agree', async () => {
    const url = await pgs.createDatabase('soft_remove');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    const ids = (table = 'items') =>
      withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT list(id ORDER BY id) AS ids FROM "${table}"`))[0].ids as number[], { readOnly: true });
    try {
      ws.writePipeline('items', PIPELINE('remove'));
      await runOnce(ws, url);
      assert.deepEqual(await ids(), [1, 3, 4, 5, 6]);
      await assertVerified(ws, url);

      await pgs.query(
        url,
        `UPDATE items SET deleted_at = now(), updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 3;
         UPDATE items SET deleted_at = NULL, note = 'back', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 2;`,
      );
      await runOnce(ws, url);
      assert.deepEqual(await ids(), [1, 2, 4, 5, 6]);
      assert.deepEqual(await ids('items_current'), [1, 2, 4, 5, 6]);
      const back = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT note, deleted_at IS NULL AS living FROM items WHERE id = 2`), { readOnly: true });
      assert.deepEqual(back, [{ note: 'back', living: true }]);
      await assertVerified(ws, url);

      // A tombstone lost in DuckDB is a difference verify finds in remove mode too.
      await withDuckDbFile(ws.duckdbPath, (s) => s.run(`INSERT INTO items VALUES (3, 'item 3', now(), NULL)`));
      const diff = await runCli(['verify', 'items'], ws.env(url));
      assert.equal(diff.code, 1, diff.stdout);
      assert.match(diff.stdout, /extra/);

      // The history rebuilds the same table: tombstoned rows only remove their keys.
      const replay = await runCli(['replay', 'items', '--drop-target'], ws.env(url));
      assert.equal(replay.code, 0, replay.stdout + replay.stderr);
      assert.deepEqual(await ids(), [1, 2, 4, 5, 6]);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });

  test('keep (default) keeps the tombstone; switching to remove takes the tombstoned rows out', async () => {
    const url = await pgs.createDatabase('soft_keep');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    const rows = () =>
      withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT id, deleted_at IS NOT NULL AS tombstoned FROM items ORDER BY id`), { readOnly: true });
    try {
      ws.writePipeline('items', PIPELINE(null));
      await runOnce(ws, url);
      assert.deepEqual(
        (await rows()).map((r) => [r.id, r.tombstoned]),
        [
          [1, false],
          [2, true],
          [3, false],
          [4, false],
          [5, false],
          [6, false],
        ],
      );
      await assertVerified(ws, url);

      ws.writePipeline('items', PIPELINE('remove'));
      await runOnce(ws, url);
      assert.deepEqual(
        (await rows()).map((r) => r.id),
        [1, 3, 4, 5, 6],
      );
      await assertVerified(ws, url);

      const bad = await runCli(['validate', ws.pipelinesDir], ws.env(url));
      assert.equal(bad.code, 0, bad.stdout + bad.stderr);
      ws.writePipeline('items', PIPELINE('remove').replace('  soft_delete: deleted_at\n', ''));
      const refused = await runCli(['validate', ws.pipelinesDir], ws.env(url));
      assert.notEqual(refused.code, 0);
      assert.match(refused.stdout + refused.stderr, /soft_delete_mode: needs source\.soft_delete/);
    } finally {
      ws.cleanup();
    }
  });
});
