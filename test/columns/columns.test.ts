/**
 * source.columns on a real Postgres and a real DuckDB file: excluded columns (a password hash, a
 * tsvector) are in neither the DuckDB table nor the Parquet history, the other values equal the
 * source, updates sync and verify compares the selected columns. Then the selection meets drift: an
 * excluded column renamed is refused (never copied), a column taken out of exclude is added and
 * backfilled, and a synced column newly excluded is refused until it is dropped from DuckDB.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';

const SQL = `
CREATE TABLE accounts (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  password_hash text NOT NULL,
  search tsvector,
  plan text,
  updated_at timestamptz NOT NULL
);
CREATE INDEX ON accounts (updated_at, id);
INSERT INTO accounts
SELECT i, 'user' || i || '@example.com', 'secret-hash-' || i, to_tsvector('english', 'user number ' || i), CASE WHEN i % 2 = 0 THEN 'pro' END,
       clock_timestamp() - interval '1 hour' + i * interval '1 second'
FROM generate_series(1, 25) AS i;`;

const PIPELINE = (exclude: string[]) => `source:
  table: public.accounts
  primary_key: id
  columns:
    exclude: [${exclude.join(', ')}]
target:
  table: accounts
batch_size: 10
`;

async function duckColumns(ws: Workspace): Promise<string[]> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) =>
      (await s.all(`SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position`)).map((r) =>
        String(r.column_name),
      ),
    { readOnly: true },
  );
}

/** The columns of every Parquet history file of the pipeline (batches and backfills), as DuckDB reads them. */
async function parquetColumns(ws: Workspace): Promise<string[][]> {
  const dir = join(ws.parquetDir, 'accounts');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => join(dir, f));
  assert.ok(files.length > 0, 'history files written');
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => {
      const out: string[][] = [];
      for (const f of files) out.push((await s.all(`DESCRIBE SELECT * FROM read_parquet('${f.replace(/'/g, "''")}')`)).map((r) => String(r.column_name)));
      return out;
    },
    { readOnly: true },
  );
}

async function duckRows(ws: Workspace, columns: string): Promise<Record<string, unknown>[]> {
  return withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT ${columns} FROM accounts ORDER BY id`), { readOnly: true });
}

describe('source.columns', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('exclude: a password hash and a tsvector never reach Parquet or DuckDB; updates sync; drift keeps them out', async () => {
    const url = await pgs.createDatabase('columns_exclude');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    const pgRows = async (columns: string) => (await pgs.query(url, `SELECT ${columns} FROM accounts ORDER BY id`)).rows;
    try {
      // validate --connect: a misspelt name is an error at its list item (it would leave the column synced).
      const typo = ws.writePipeline('accounts', PIPELINE(['password_hsh', 'search']));
      const checked = await runCli(['validate', '--connect', typo], ws.env(url));
      assert.equal(checked.code, 1, checked.stdout + checked.stderr);
      assert.match(checked.stdout, /accounts\.yml:5:15 source\.columns\.exclude\[0\]: .*has no column "password_hsh"; did you mean "password_hash"\?/);
      ws.writePipeline('accounts', PIPELINE(['password_hash', 'search']));
      const ok = await runCli(['validate', '--connect', typo], ws.env(url));
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'plan', 'updated_at']);
      const files = await parquetColumns(ws);
      assert.equal(files.length, 3, '25 rows in batches of 10');
      for (const cols of files) {
        assert.ok(!cols.includes('password_hash') && !cols.includes('search'), `a history file has an excluded column: ${cols.join(', ')}`);
        assert.ok(cols.includes('email') && cols.includes('plan'));
      }
      const duck = await duckRows(ws, `id::VARCHAR AS id, email, plan`);
      assert.equal(duck.length, 25);
      assert.deepEqual(duck, await pgRows(`id::text AS id, email, plan`));
      const [verified] = await assertVerified(ws, url);
      assert.deepEqual(verified.compared, ['id', 'email', 'plan', 'updated_at']);

      // An update (the excluded columns change too) syncs the selected columns only.
      await pgs.query(
        url,
        `UPDATE accounts SET email = 'changed@example.com', password_hash = 'new-hash', search = to_tsvector('changed'), updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 7`,
      );
      await runOnce(ws, url);
      assert.deepEqual(await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT email FROM accounts WHERE id = 7`), { readOnly: true }), [
        { email: 'changed@example.com' },
      ]);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'plan', 'updated_at']);
      await assertVerified(ws, url);

      // Drift on an excluded column is no event: retyped, then dropped.
      await pgs.query(url, `ALTER TABLE accounts ALTER COLUMN password_hash TYPE bytea USING convert_to(password_hash, 'UTF8')`);
      await pgs.query(url, `UPDATE accounts SET plan = 'team', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 3`);
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'plan', 'updated_at']);
      await assertVerified(ws, url);

      // An excluded column renamed would slip past a list of names: refused, nothing loaded.
      await pgs.query(url, `ALTER TABLE accounts RENAME COLUMN password_hash TO pw_hash`);
      await pgs.query(url, `UPDATE accounts SET plan = 'free', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 4`);
      const refused = await runCli(['run', '--once'], ws.env(url));
      assert.notEqual(refused.code, 0);
      assert.match(refused.stdout + refused.stderr, /password_hash\\?" → \\?"pw_hash.*Add \\?"pw_hash\\?" to source\.columns\.exclude/);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'plan', 'updated_at']);
      ws.writePipeline('accounts', PIPELINE(['pw_hash', 'search']));
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'plan', 'updated_at']);
      await assertVerified(ws, url);

      // Taken out of exclude: the column is added (last) and its existing rows backfilled from the source.
      ws.writePipeline('accounts', PIPELINE(['pw_hash']));
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'plan', 'updated_at', 'search']);
      const searches = await duckRows(ws, `id::VARCHAR AS id, search`);
      assert.deepEqual(searches, await pgRows(`id::text AS id, search::text AS search`));
      const [withSearch] = await assertVerified(ws, url);
      assert.ok(withSearch.compared.includes('search'));

      // Newly excluded while DuckDB holds it: refused (its data is never emptied row by row) until it is dropped there.
      ws.writePipeline('accounts', PIPELINE(['pw_hash', 'plan']));
      const kept = await runCli(['run', '--once'], ws.env(url));
      assert.notEqual(kept.code, 0);
      assert.match(kept.stdout + kept.stderr, /leaves out \\?"plan\\?", which the DuckDB table accounts holds/);
      await withDuckDbFile(ws.duckdbPath, (s) => s.run(`ALTER TABLE accounts DROP COLUMN plan`));
      await pgs.query(url, `UPDATE accounts SET plan = 'gone', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 5`);
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws), ['id', 'email', 'updated_at', 'search']);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
});
