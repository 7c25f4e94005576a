/**
 * Target schemas (issue 14): two pipelines write tables of one name into two DuckDB schemas of one
 * file (a dotted target.table and target.schema). Each table, its `_current` view, verify, replay,
 * plan and reset --drop-target follow its own schema; neither touches the other's table.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const SQL = `
CREATE SCHEMA shop;
CREATE TABLE public.orders (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL, deleted_at timestamptz);
CREATE INDEX ON public.orders (updated_at, id);
INSERT INTO public.orders SELECT i, 'public ' || i, clock_timestamp() - interval '1 hour' + i * interval '1 second',
  CASE WHEN i = 2 THEN clock_timestamp() - interval '1 hour' END
FROM generate_series(1, 7) AS i;
CREATE TABLE shop.orders (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON shop.orders (updated_at, id);
INSERT INTO shop.orders SELECT i, 'shop ' || i, clock_timestamp() - interval '1 hour' + i * interval '1 second' FROM generate_series(1, 4) AS i;`;

let pgs: TestPostgres;
let url: string;
let ws: Workspace;
before(async () => {
  pgs = await startPostgres();
  url = await pgs.createDatabase('target_schemas');
  await pgs.query(url, SQL);
  ws = createWorkspace();
  // A dotted target.table, and target.schema: the same table name in two schemas of one file.
  ws.writePipeline(
    'analytics_orders',
    'source:\n  table: public.orders\n  primary_key: id\n  soft_delete: deleted_at\ntarget:\n  table: analytics.orders\nbatch_size: 3\n',
  );
  ws.writePipeline('staging_orders', 'source:\n  table: shop.orders\n  primary_key: id\ntarget:\n  schema: staging\n  table: orders\nbatch_size: 3\n');
});
after(async () => {
  ws?.cleanup();
  await pgs?.stop();
});

/** One query on the DuckDB file opened read-only, as a person would (the file's own catalog). */
const read = (sql: string) => withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true });
const ids = async (table: string) => (await read(`SELECT list(id ORDER BY id) AS ids FROM ${table}`))[0].ids as number[];
const objects = async () =>
  (
    await read(
      `SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1`,
    )
  ).map((r) => String(r.name));

test('two pipelines sync one table name into two DuckDB schemas; the view lives beside its table', async () => {
  await runOnce(ws, url);
  assert.deepEqual(await objects(), ['analytics.orders', 'analytics.orders_current', 'main._pgduck_progress', 'staging.orders']);
  assert.deepEqual(await read('SELECT count(*)::INT AS n FROM analytics.orders'), [{ n: 7 }]);
  assert.deepEqual(await read('SELECT count(*)::INT AS n FROM staging.orders'), [{ n: 4 }]);
  assert.deepEqual(await ids('analytics.orders_current'), [1, 3, 4, 5, 6, 7]);
  assert.deepEqual(await read(`SELECT note FROM staging.orders WHERE id = 1`), [{ note: 'shop 1' }]);
  await assertVerified(ws, url);

  // A second run over changes: both tables move, each in its own schema; the view still follows.
  await pgs.query(
    url,
    `UPDATE public.orders SET deleted_at = now(), updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 3;
     INSERT INTO public.orders VALUES (8, 'public 8', clock_timestamp() - interval '5 minutes', NULL);
     UPDATE shop.orders SET note = 'changed', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 2;`,
  );
  await runOnce(ws, url);
  assert.deepEqual(await ids('analytics.orders_current'), [1, 4, 5, 6, 7, 8]);
  assert.deepEqual(await read('SELECT count(*)::INT AS n FROM analytics.orders'), [{ n: 8 }]);
  assert.deepEqual(await read(`SELECT id, note FROM staging.orders WHERE note = 'changed'`), [{ id: 2, note: 'changed' }]);
  assert.deepEqual(
    await objects(),
    ['analytics.orders', 'analytics.orders_current', 'main._pgduck_progress', 'staging.orders'],
    "nothing was created in main but pgduck's own record of each target's progress",
  );
  // status's row counts, taken by the runner after each run, count each schema's own table.
  assert.deepEqual([readCheckpoint(ws, 'analytics_orders')?.targetRows, readCheckpoint(ws, 'staging_orders')?.targetRows], [8, 4]);
  const results = await assertVerified(ws, url);
  assert.deepEqual(results.map((r) => [r.pipeline, r.target.replace(/^.*:/, '')]).sort(), [
    ['analytics_orders', 'analytics.orders'],
    ['staging_orders', 'staging.orders'],
  ]);
});

test('plan shows the qualified target, its view and the schema it creates', async () => {
  const text = await runCli(['plan', 'analytics_orders'], ws.env(url));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /target {5}\S*warehouse\.duckdb :: analytics\.orders {2}\(\+ view analytics\.orders_current\)/);
  assert.match(text.stdout, /CREATE SCHEMA IF NOT EXISTS "warehouse"\."analytics";/);
  assert.match(text.stdout, /CREATE TABLE IF NOT EXISTS "warehouse"\."analytics"\."orders"/);
  const json = await runCli(['plan', 'staging_orders', '--json'], ws.env(url));
  assert.equal(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout);
  assert.deepEqual([plan.target.schema, plan.target.table, plan.target.currentView], ['staging', 'staging.orders', null]);
});

test('replay --drop-target rebuilds its own schema’s table from the history', async () => {
  const res = await runCli(['replay', 'analytics_orders', '--drop-target'], ws.env(url));
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /into \S*warehouse\.duckdb table analytics\.orders\n/);
  assert.match(res.stdout, /analytics\.orders rebuilt/);
  assert.deepEqual(await objects(), ['analytics.orders', 'analytics.orders_current', 'main._pgduck_progress', 'staging.orders']);
  assert.deepEqual(await ids('analytics.orders_current'), [1, 4, 5, 6, 7, 8]);
  await assertVerified(ws, url);
});

test('reconcile removes a hard-deleted row from its own schema’s table only', async () => {
  await pgs.query(url, 'DELETE FROM shop.orders WHERE id = 3');
  const res = await runCli(['reconcile', 'staging_orders'], ws.env(url));
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.deepEqual(await ids('staging.orders'), [1, 2, 4]);
  assert.deepEqual(await read('SELECT count(*)::INT AS n FROM analytics.orders'), [{ n: 8 }]);
  await assertVerified(ws, url);
});

test('reset --drop-target drops only its own schema’s table and view; the next run creates them again', async () => {
  const res = await runCli(['reset', 'analytics_orders', '--drop-target'], ws.env(url));
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /DuckDB table analytics\.orders dropped/);
  assert.deepEqual(await objects(), ['main._pgduck_progress', 'staging.orders']);
  assert.deepEqual(await ids('staging.orders'), [1, 2, 4]);

  await runOnce(ws, url);
  assert.deepEqual(await objects(), ['analytics.orders', 'analytics.orders_current', 'main._pgduck_progress', 'staging.orders']);
  assert.deepEqual(await read('SELECT count(*)::INT AS n FROM analytics.orders'), [{ n: 8 }]);
  await assertVerified(ws, url);
});
