/**
 * `pgduck demo` (what `npm run demo` runs): the README's first command. Embedded by default; with
 * DATABASE_URL only against a database holding the demo schema, and never into the configured lake.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { ROOT, createWorkspace, runCli, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

/** The shipped pipelines/, with the workspace's lake, Parquet and state paths. */
const env = (databaseUrl?: string): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...ws.env(databaseUrl ?? ''), PIPELINES_DIR: join(ROOT, 'pipelines') };
  if (!databaseUrl) delete e.DATABASE_URL;
  return e;
};

test('embedded: starts Postgres, syncs, applies live changes, prints a DuckDB query and checkpoints, exits 0', async () => {
  const out = join(ws.dir, 'demo-out');
  const res = await runCli(['demo', '--accounts', '60', '--out', out], env());
  assert.equal(res.code, 0, res.stdout + res.stderr);
  for (const table of ['accounts', 'subscriptions', 'invoices', 'invoice_lines']) assert.match(res.stdout, new RegExp(`✓ ${table}\\s+\\d+ rows`));
  assert.match(res.stdout, /│ plan\s+│ accounts │ invoices │ billed/);
  assert.match(res.stdout, /embedded Postgres stopped/);
  const counts = await withDuckDbFile(join(out, 'lake', 'warehouse.duckdb'), (s) =>
    s.all(
      'SELECT (SELECT count(*) FROM accounts)::INT AS a, (SELECT count(*) FROM accounts_current)::INT AS live, (SELECT count(*) FROM invoice_lines)::INT AS l',
    ),
  );
  // 60 seeded + 1 inserted by the live changes; one soft-deleted (and any the seed tombstoned) hidden by the view.
  assert.equal(counts[0].a, 61);
  assert.ok((counts[0].live as number) < 61);
  assert.equal(counts[0].l, 361);
  assert.equal(existsSync(ws.duckdbPath), false, 'the configured lake is not touched');
});

test('a failing demo exits non-zero (a bad --accounts is a usage error before anything starts)', async () => {
  const res = await runCli(['demo', '--accounts', 'lots'], env());
  assert.equal(res.code, 2);
  assert.match(res.stderr, /--accounts must be a whole number/);
  assert.doesNotMatch(res.stdout, /starting an embedded Postgres/);
});

test('with DATABASE_URL: refuses a database without the demo schema and changes nothing', async () => {
  const url = await pg.createDatabase('not_demo');
  await pg.query(url, "CREATE TABLE accounts (id int PRIMARY KEY, plan text); INSERT INTO accounts VALUES (2, 'free')");
  const res = await runCli(['demo'], env(url));
  assert.equal(res.code, 4, 'needs action: apply the demo schema');
  assert.match(res.stderr, /public\.accounts here is not the pgduck demo table.*nothing was changed/);
  assert.deepEqual((await pg.query(url, 'SELECT id, plan FROM accounts')).rows, [{ id: 2, plan: 'free' }]);
  const seeded = await runCli(['seed-changes'], env(url));
  assert.equal(seeded.code, 4);
  assert.deepEqual((await pg.query(url, 'SELECT id, plan FROM accounts')).rows, [{ id: 2, plan: 'free' }]);
});

test('with DATABASE_URL of a demo database (docker compose): syncs it into a separate output, not the configured lake', async () => {
  const url = await pg.createDatabase('compose_like');
  await applyInitScripts(url, { seedAccounts: 30 });
  const out = join(ws.dir, 'demo-external');
  const res = await runCli(['demo', '--out', out], env(url));
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /using the Postgres at postgres:\/\/postgres:\*\*\*\*@/);
  assert.ok(existsSync(join(out, 'lake', 'warehouse.duckdb')));
  assert.equal(existsSync(ws.duckdbPath), false);
  assert.equal(existsSync(ws.stateDir) && existsSync(join(ws.stateDir, 'checkpoints.db')), false);
});
