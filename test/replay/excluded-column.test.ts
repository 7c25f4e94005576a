/**
 * `pgduck replay` follows the pipeline's current source.columns, as a sync does: a column synced
 * before the file excluded it is still in the older Parquet history, and replay must not bring it
 * back. Real Postgres, real DuckDB file, the replays through the CLI with Postgres unreachable:
 *  - while the DuckDB table still holds the newly excluded column, the sync refuses and so does
 *    replay (nothing written);
 *  - once it is dropped and the pipeline synced again, a rebuild (--drop-target, and a replay into
 *    a new DuckDB file) and a replay onto the table hold no such column, and every other value is
 *    the same (row count, checksum, verify against the source).
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';

/** Postgres is never asked by replay: every replay runs with this URL, where nothing listens. */
const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

const SQL = `
CREATE TABLE accounts (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  password_hash text NOT NULL,
  plan text,
  updated_at timestamptz NOT NULL
);
CREATE INDEX ON accounts (updated_at, id);
INSERT INTO accounts
SELECT i, 'user' || i || '@example.com', 'secret-hash-' || i, CASE WHEN i % 2 = 0 THEN 'pro' END,
       clock_timestamp() - interval '1 hour' + i * interval '1 second'
FROM generate_series(1, 25) AS i;`;

const PIPELINE = (exclude: string[] | null) => `source:
  table: public.accounts
  primary_key: id
${exclude ? `  columns:\n    exclude: [${exclude.join(', ')}]\n` : ''}target:
  table: accounts
batch_size: 10
`;

const SELECTED = ['id', 'email', 'plan', 'updated_at'];

async function duckColumns(path: string): Promise<string[]> {
  return withDuckDbFile(
    path,
    async (s) =>
      (await s.all(`SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position`)).map((r) =>
        String(r.column_name),
      ),
    { readOnly: true },
  );
}

/** Row count and an order-independent checksum of the selected columns. */
async function digest(path: string): Promise<{ rows: number; sum: string }> {
  const [r] = await withDuckDbFile(
    path,
    (s) => s.all(`SELECT count(*)::BIGINT AS n, coalesce(sum(hash(id, email, plan, updated_at::VARCHAR)::HUGEINT), 0)::VARCHAR AS sum FROM accounts`),
    { readOnly: true },
  );
  return { rows: Number(r.n), sum: String(r.sum) };
}

async function historyColumns(ws: Workspace): Promise<string[][]> {
  const dir = join(ws.parquetDir, 'accounts');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => join(dir, f));
  return withDuckDbFile(':memory:', async (s) => {
    const out: string[][] = [];
    for (const f of files) out.push((await s.all(`DESCRIBE SELECT * FROM read_parquet('${f.replace(/'/g, "''")}')`)).map((r) => String(r.column_name)));
    return out;
  });
}

describe('replay and source.columns', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('a column excluded after it was synced never comes back through replay; the other values are equal', async () => {
    const url = await pgs.createDatabase('replay_excluded');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('accounts', PIPELINE(null));
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws.duckdbPath), ['id', 'email', 'password_hash', 'plan', 'updated_at']);

      // Excluded now: the sync refuses while DuckDB holds the column, and so does replay.
      ws.writePipeline('accounts', PIPELINE(['password_hash']));
      const refusedSync = await runCli(['run', '--once'], ws.env(url));
      assert.notEqual(refusedSync.code, 0);
      assert.match(refusedSync.stdout + refusedSync.stderr, /leaves out \\?"password_hash\\?", which the DuckDB table accounts holds/);
      const before = await digest(ws.duckdbPath);
      const refusedReplay = await runCli(['replay', 'accounts', '--from', '1'], ws.env(NOWHERE));
      assert.equal(refusedReplay.code, 4, refusedReplay.stdout + refusedReplay.stderr);
      assert.match(
        refusedReplay.stderr,
        /source\.columns leaves out "password_hash", which accounts holds.*pgduck replay accounts --drop-target.*ALTER TABLE "accounts" DROP COLUMN "password_hash"/,
      );
      assert.deepEqual(await duckColumns(ws.duckdbPath), ['id', 'email', 'password_hash', 'plan', 'updated_at'], 'nothing written');
      assert.deepEqual(await digest(ws.duckdbPath), before);

      // As the sync's message says: drop it from DuckDB, then sync (an update, and rows read again).
      await withDuckDbFile(ws.duckdbPath, (s) => s.run(`ALTER TABLE accounts DROP COLUMN password_hash`));
      await pgs.query(
        url,
        `UPDATE accounts SET email = 'changed@example.com', password_hash = 'new-hash', updated_at = clock_timestamp() - interval '5 minutes' WHERE id = 7`,
      );
      await runOnce(ws, url);
      assert.deepEqual(await duckColumns(ws.duckdbPath), SELECTED);
      await assertVerified(ws, url);
      const synced = await digest(ws.duckdbPath);
      assert.equal(synced.rows, 25);

      // The history still holds the column (the files written before the exclusion): what replay reads.
      const files = await historyColumns(ws);
      assert.ok(
        files.some((cols) => cols.includes('password_hash')),
        'older history files hold password_hash',
      );
      assert.ok(
        files.some((cols) => !cols.includes('password_hash')),
        'newer ones do not',
      );

      const dry = await runCli(['replay', 'accounts', '--drop-target', '--dry-run'], ws.env(NOWHERE));
      assert.equal(dry.code, 0, dry.stdout + dry.stderr);
      assert.match(dry.stdout, /password_hash not loaded \(source\.columns leaves it out\)/);
      assert.doesNotMatch(dry.stdout, /built as .*password_hash/);

      // Rebuilt from the whole history.
      const rebuilt = await runCli(['replay', 'accounts', '--drop-target'], ws.env(NOWHERE));
      assert.equal(rebuilt.code, 0, rebuilt.stdout + rebuilt.stderr);
      assert.deepEqual(await duckColumns(ws.duckdbPath), SELECTED);
      assert.deepEqual(await digest(ws.duckdbPath), synced);
      await assertVerified(ws, url);

      // Onto the table, every file: nothing comes back, nothing changes.
      const inPlace = await runCli(['replay', 'accounts', '--from', '1'], ws.env(NOWHERE));
      assert.equal(inPlace.code, 0, inPlace.stdout + inPlace.stderr);
      assert.deepEqual(await duckColumns(ws.duckdbPath), SELECTED);
      assert.deepEqual(await digest(ws.duckdbPath), synced);

      // Into a new DuckDB file (the old one gone).
      rmSync(ws.duckdbPath);
      const fresh = await runCli(['replay', 'accounts'], ws.env(NOWHERE));
      assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
      assert.deepEqual(await duckColumns(ws.duckdbPath), SELECTED);
      assert.deepEqual(await digest(ws.duckdbPath), synced);
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
});
