/**
 * PGDUCK_DUCKDB_MEMORY_LIMIT bounds the runner's DuckDB instance (its default, 80% of RAM, lets the
 * cached blocks of a big bootstrap grow with the table).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { resolveSettings } from '../../src/runner/settings.js';
import { UsageError } from '../../src/errors/usage-error.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, demoPipelines, runCli, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;
before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('memlimit');
  await applyInitScripts(url, { seedAccounts: 40 });
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

const limitOf = async (lake: Lake, path: string) =>
  lake.withSession(path, async (s) => String((await s.all("SELECT current_setting('memory_limit') AS m"))[0].m));

test('the lake applies the limit; without one DuckDB keeps its default', async () => {
  const limited = new Lake({ memoryLimit: '64MiB' });
  const unlimited = new Lake();
  try {
    assert.equal(await limitOf(limited, join(ws.dir, 'a.duckdb')), '64.0 MiB');
    const dflt = await limitOf(unlimited, join(ws.dir, 'b.duckdb'));
    assert.match(dflt, /GiB$/, `DuckDB's default is a share of RAM, got ${dflt}`);
  } finally {
    await limited.close();
    await unlimited.close();
  }
});

test('the setting accepts sizes and refuses anything else with exit 2', async () => {
  assert.equal(resolveSettings({}, { PGDUCK_DUCKDB_MEMORY_LIMIT: ' 512 mb ' }).duckdbMemoryLimit, '512mb');
  assert.equal(resolveSettings({}, { PGDUCK_DUCKDB_MEMORY_LIMIT: '2GiB' }).duckdbMemoryLimit, '2GiB');
  assert.equal(resolveSettings({}, {}).duckdbMemoryLimit, null);
  assert.throws(() => resolveSettings({}, { PGDUCK_DUCKDB_MEMORY_LIMIT: 'lots' }), UsageError);
  const res = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_DUCKDB_MEMORY_LIMIT: '50%' });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /PGDUCK_DUCKDB_MEMORY_LIMIT must be a size such as 512MB or 2GiB, got "50%"/);
});

test('run --once under a small limit syncs every table completely', async () => {
  demoPipelines(ws, 25);
  const res = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_DUCKDB_MEMORY_LIMIT: '32MB' });
  assert.equal(res.code, 0, res.stderr.slice(-2000));
  for (const table of ['accounts', 'subscriptions', 'invoices', 'invoice_lines']) {
    const source = (await pg.query(url, `SELECT count(*) AS n FROM public.${table}`)).rows[0].n as string;
    const target = await withDuckDbFile(ws.duckdbPath, async (s) => String((await s.all(`SELECT count(*) AS n FROM ${table}`))[0].n), { readOnly: true });
    assert.equal(target, String(source), table);
    assert.ok(Number(source) > 25, `${table} needs several batches`);
  }
});
