/**
 * `pgduck init` run again over files it wrote (found by review): it named tables without the names
 * the directory's files already had, and called a file "kept" by its path alone. So
 * - `init --schema a`, then `init --schema b`: b.orders was reported kept as `orders.yml`, which
 *   reads a.orders; b.orders was never synced, every run ok and verify equal;
 * - `init` (public), then `init --schema public --schema sales` once sales.orders existed: a second
 *   file, `public_orders.yml`, read public.orders again, into a second DuckDB table.
 * Now a table a file here already reads keeps that file, and a new table gets a name no file here
 * has (nor any DuckDB table they write).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'yaml';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { initCommand } from '../../src/commands/init.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';

let pg: TestPostgres;
const workspaces: Workspace[] = [];

before(async () => {
  pg = await startPostgres();
});
after(async () => {
  for (const ws of workspaces) ws.cleanup();
  await pg?.stop();
});

async function init(url: string, ws: Workspace, schemas: string[], force = false): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const code = await initCommand({ databaseUrl: url, out: ws.pipelinesDir, schemas, tables: [], force }, out, out);
  assert.equal(code, 0, text);
  return text;
}

/** Each pipeline file: what it reads. */
function files(ws: Workspace): Record<string, string> {
  return Object.fromEntries(
    readdirSync(ws.pipelinesDir)
      .sort()
      .map((f) => [f, String(parse(readFileSync(join(ws.pipelinesDir, f), 'utf8')).source.table)]),
  );
}

const table = (schema: string, rows: string) =>
  `CREATE TABLE ${schema}.orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(), note text);
   CREATE INDEX ON ${schema}.orders (updated_at, id);
   INSERT INTO ${schema}.orders (id, note) VALUES ${rows};`;

async function duckRows(ws: Workspace): Promise<Record<string, number>> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => {
      const out: Record<string, number> = {};
      const tables = await s.all(
        `SELECT table_name FROM duckdb_tables() WHERE database_name = '${s.catalogName}' AND table_name <> '_pgduck_progress' ORDER BY 1`,
      );
      for (const t of tables) out[String(t.table_name)] = Number((await s.all(`SELECT count(*)::INT AS n FROM "${String(t.table_name)}"`))[0].n);
      return out;
    },
    { readOnly: true },
  );
}

test('init for another schema names its table apart from a file of the same table name, and syncs it', async () => {
  const url = await pg.createDatabase('init_rerun_other');
  await pg.query(url, `CREATE SCHEMA a; CREATE SCHEMA b; ${table('a', "(1, 'a'), (2, 'a'), (3, 'a')")} ${table('b', "(100, 'b'), (101, 'b')")}`);
  const ws = createWorkspace();
  workspaces.push(ws);
  await init(url, ws, ['a']);
  const second = await init(url, ws, ['b']);
  assert.match(second, /wrote .*b_orders\.yml: "b"\."orders"/);
  assert.match(second, /1 file written, 0 kept/);
  assert.deepEqual(files(ws), { 'b_orders.yml': 'b.orders', 'orders.yml': 'a.orders' });
  // And a third time: both kept, nothing written.
  assert.match(await init(url, ws, ['a', 'b']), /0 files written, 2 kept/);
  assert.deepEqual(files(ws), { 'b_orders.yml': 'b.orders', 'orders.yml': 'a.orders' });
  await runOnce(ws, url);
  assert.deepEqual(await duckRows(ws), { b_orders: 2, orders: 3 });
  await assertVerified(ws, url);
});

test('init with one more schema keeps the file that reads a table already synced: no second copy', async () => {
  const url = await pg.createDatabase('init_rerun_added');
  await pg.query(url, table('public', "(1, 'p'), (2, 'p'), (3, 'p')"));
  const ws = createWorkspace();
  workspaces.push(ws);
  await init(url, ws, ['public']);
  await runOnce(ws, url);
  await pg.query(url, `CREATE SCHEMA sales; ${table('sales', "(50, 's')")}`);
  const second = await init(url, ws, ['public', 'sales']);
  assert.match(second, /kept .*\/orders\.yml/);
  assert.match(second, /wrote .*sales_orders\.yml: "sales"\."orders"/);
  assert.deepEqual(files(ws), { 'orders.yml': 'public.orders', 'sales_orders.yml': 'sales.orders' });
  // --force rewrites the file that reads the table, under its own name.
  assert.match(await init(url, ws, ['public'], true), /wrote .*\/orders\.yml: "public"\."orders"/);
  assert.deepEqual(files(ws), { 'orders.yml': 'public.orders', 'sales_orders.yml': 'sales.orders' });
  await runOnce(ws, url);
  assert.deepEqual(await duckRows(ws), { orders: 3, sales_orders: 1 });
  await assertVerified(ws, url);
});
