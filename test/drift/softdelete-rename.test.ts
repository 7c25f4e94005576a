/**
 * Found by review: the soft_delete column renamed in Postgres and the pipeline file updated to the new
 * name between two runs (the README's recovery for "a gone soft_delete column"). The `_current` view
 * was made (with the new name) before the rename was applied, and every run failed on it. The view
 * is now synced after the drift check's DDL (src/stages/drift-check.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { runOutcome, runOnce } from '../support/sync-checks.js';
import { createWorkspace } from '../support/workspace.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const PIPE = (col: string, mode: string) => `source:
  table: public.items
  primary_key: id
  soft_delete: ${col}
  soft_delete_mode: ${mode}
target:
  table: items
batch_size: 10
`;

for (const mode of ['keep', 'remove']) {
  test(`soft_delete_mode ${mode}: the tombstone column renamed with the file: the next run renames it and _current shows every live row (found by review: every run failed on a Binder Error creating items_current)`, async () => {
    const url = await pgs.createDatabase(`rv_sd_rename_${mode}`);
    await pgs.query(
      url,
      `CREATE TABLE items (id bigint PRIMARY KEY, a text, deleted_at timestamptz, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items SELECT i, 'A' || i, CASE WHEN i % 3 = 0 THEN now() - interval '2 hours' END,
         clock_timestamp() - interval '1 hour' + i * interval '1 second' FROM generate_series(1, 6) AS i;`,
    );
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', PIPE('deleted_at', mode));
      await runOnce(ws, url);
      await pgs.query(url, `ALTER TABLE items RENAME COLUMN deleted_at TO removed_at`);
      await pgs.query(url, `UPDATE items SET removed_at = now(), updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 1`);
      ws.writePipeline('items', PIPE('removed_at', mode));
      const outcome = await runOutcome(ws, url);
      const second = await runOutcome(ws, url);
      const pg = (await pgs.query(url, `SELECT id::int AS id, removed_at IS NOT NULL AS tomb FROM items ORDER BY id`)).rows;
      const living = pg.filter((r) => !r.tomb).map((r) => r.id);
      const cols = await withDuckDbFile(
        ws.duckdbPath,
        async (s) => (await s.all(`SELECT column_name FROM information_schema.columns WHERE table_name = 'items'`)).map((r) => String(r.column_name)),
        { readOnly: true },
      );
      const info = `outcomes: ${JSON.stringify([outcome, second].map((o) => ({ status: (o as { status?: unknown }).status, error: String((o as { error?: unknown }).error ?? '') })))}; duck columns ${cols}`;
      assert.ok(outcome.ok && second.ok, info);
      assert.ok(cols.includes('removed_at') && !cols.includes('deleted_at'), info);
      const current = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT list(id::INT ORDER BY id) AS ids FROM items_current`), { readOnly: true });
      assert.deepEqual(current, [{ ids: living }], info);
    } finally {
      ws.cleanup();
    }
  });
}
