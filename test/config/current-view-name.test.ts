/**
 * Found by review (pipelines sharing one DuckDB file): pipeline `orders` (soft_delete) owns the view
 * `orders_current`; pipeline `orders_current` targets a table of that very name. validate accepted
 * both files (the one-writer check compared table names only), and `orders` then failed every run
 * (INTERNAL: a table cannot be replaced with a view). The name is now reserved for every target's
 * view (src/config/check-pipeline-set.ts): validate names the file that takes it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds } from '../support/sync-checks.js';

let pgs: TestPostgres;
let url: string;
let ws: Workspace;
before(async () => {
  pgs = await startPostgres();
  url = await pgs.createDatabase('review13_view_name');
  await pgs.query(
    url,
    `CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL, deleted_at timestamptz);
     CREATE INDEX ON orders (updated_at, id);
     INSERT INTO orders SELECT i, clock_timestamp() - interval '1 hour' + i * interval '1 second', CASE WHEN i = 2 THEN now() END FROM generate_series(1, 4) AS i;
     CREATE TABLE open_orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
     CREATE INDEX ON open_orders (updated_at, id);
     INSERT INTO open_orders SELECT i, clock_timestamp() - interval '1 hour' + i * interval '1 second' FROM generate_series(101, 103) AS i;`,
  );
  ws = createWorkspace();
  ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  soft_delete: deleted_at\ntarget:\n  table: orders\n');
  ws.writePipeline('orders_current', 'source:\n  table: public.open_orders\n  primary_key: id\ntarget:\n  table: orders_current\n');
});
after(async () => {
  ws?.cleanup();
  await pgs?.stop();
});

test('a target table named like another pipeline’s _current view: validate says so; the other pipeline syncs', async () => {
  const v = await runCli(['validate'], ws.env(url));
  assert.equal(v.code, 3, v.stdout + v.stderr);
  assert.match(v.stdout + v.stderr, /orders_current\.yml.*`orders_current` is the name of the `<table>_current` view pipeline `orders`/);
  // run --once runs the valid file and reports the other (exit 3): orders and its view are made.
  const res = await runCli(['run', '--once'], ws.env(url));
  assert.equal(res.code, 3, res.stdout + res.stderr);
  assert.deepEqual(await duckIds(ws, 'orders'), [1, 2, 3, 4]);
});
