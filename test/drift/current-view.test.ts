/** `<target>_current` follows the pipeline file: soft_delete added later creates it, removed drops it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('current_view');
  await pg.query(
    url,
    `CREATE TABLE "Order Items" (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now() - interval '1 hour', removed_at timestamptz);
     INSERT INTO "Order Items" (id, removed_at) VALUES (1, NULL), (2, now() - interval '1 hour'), (3, NULL);`,
  );
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

const pipeline = (softDelete: string) =>
  ws.writePipeline('items', `source:\n  table: public."Order Items"\n  primary_key: id\n${softDelete}target:\n  table: order items\n`);
const views = () => withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1`), { readOnly: true });

test('soft_delete added to an existing pipeline creates the view; removed, it drops it', async () => {
  pipeline('');
  await runOnce(ws, url);
  assert.deepEqual(await views(), []);

  pipeline('  soft_delete: removed_at\n');
  await runOnce(ws, url);
  assert.deepEqual(await views(), [{ view_name: 'order items_current' }]);
  const live = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT id FROM "order items_current" ORDER BY id'), { readOnly: true });
  assert.deepEqual(live, [{ id: 1 }, { id: 3 }]);

  pipeline('');
  await runOnce(ws, url);
  assert.deepEqual(await views(), []);
});
