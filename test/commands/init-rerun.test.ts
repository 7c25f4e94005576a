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

/** `pgduck init` in process: its exit code and everything it said. */
async function runInit(url: string, ws: Workspace, schemas: string[], force = false): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const code = await initCommand({ databaseUrl: url, out: ws.pipelinesDir, schemas, tables: [], force }, out, out);
  return { code, text };
}

/** runInit that must succeed. */
async function init(url: string, ws: Workspace, schemas: string[], force = false): Promise<string> {
  const { code, text } = await runInit(url, ws, schemas, force);
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

test('a file init cannot load still counts by the table it reads; one whose table cannot be told stops new files', async () => {
  const url = await pg.createDatabase('init_rerun_unloadable');
  await pg.query(
    url,
    `${table('public', "(1, 'p')")} CREATE TABLE extra (id int PRIMARY KEY, updated_at timestamptz NOT NULL); CREATE INDEX ON extra (updated_at, id);`,
  );
  const ws = createWorkspace();
  workspaces.push(ws);
  // Found by review: a variable set where pgduck runs but not in init's shell made the file unloadable, and init wrote public_orders.yml beside it.
  ws.writePipeline(
    'orders',
    'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\nschedule: "${PGDUCK_TEST_UNSET_SCHEDULE}"\n',
  );
  const first = await init(url, ws, ['public']);
  assert.match(first, /kept .*\/orders\.yml/);
  assert.match(first, /wrote .*\/extra\.yml/);
  assert.deepEqual(files(ws), { 'extra.yml': 'public.extra', 'orders.yml': 'public.orders' });

  // A file whose source.table itself is unknown may read any table: nothing new is written, and init says which file.
  ws.writePipeline('mystery', 'source:\n  table: ${PGDUCK_TEST_UNSET_TABLE}\n  primary_key: id\n  cursor: updated_at\n');
  await pg.query(url, 'CREATE TABLE later (id int PRIMARY KEY, updated_at timestamptz NOT NULL); CREATE INDEX ON later (updated_at, id);');
  const { code, text: said } = await runInit(url, ws, ['public']);
  assert.equal(code, 3, said);
  assert.match(said, /not written: "public"\."later": init cannot tell which table .*mystery\.yml reads \(.*PGDUCK_TEST_UNSET_TABLE/);
  assert.match(said, /0 files written, 2 kept, 0 tables skipped, 1 not written/);
  assert.equal(Object.keys(files(ws)).includes('later.yml'), false);
});

test('shared defaults with a variable unset in init’s shell hide no file’s table (found by the review of the change above)', async () => {
  const url = await pg.createDatabase('init_rerun_defaults');
  await pg.query(
    url,
    `${table('public', "(1, 'p')")} CREATE TABLE items (id int PRIMARY KEY, updated_at timestamptz NOT NULL); CREATE INDEX ON items (updated_at, id);`,
  );
  const ws = createWorkspace();
  workspaces.push(ws);
  ws.writePipeline('_defaults', 'schedule: "${PGDUCK_TEST_UNSET_SCHEDULE}"\n');
  ws.writePipeline('orders', 'source:\n  table: orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\n');
  const said = await init(url, ws, ['public']);
  assert.match(said, /kept .*\/orders\.yml/);
  assert.match(said, /wrote .*\/items\.yml/);
});
