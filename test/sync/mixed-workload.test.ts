/**
 * Issue 12's "done when", as one workload: after a mix of inserts, updates, soft deletes and an
 * undelete, hard deletes, a key update, back-dated rows (their cursor set below the checkpoint, so
 * the cursor never sees them) and a TRUNCATE followed by back-dated re-inserts, `run --once`, then
 * `reconcile`, then `verify --repair` leave DuckDB equal to Postgres (verify, row counts, sums),
 * with the checkpoint where the run left it. Real CLI processes, embedded Postgres, real DuckDB file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, duckIds, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const SQL = `
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, note text, updated_at timestamptz NOT NULL, deleted_at timestamptz);
CREATE INDEX ON orders (updated_at, id);
INSERT INTO orders SELECT i, i * 1.25, 'n' || i, clock_timestamp() - interval '3 hours', NULL FROM generate_series(1, 3000) AS i;`;

/** Row count, live (not soft-deleted) count and sum of amounts, from each side. */
const SUMMARY = `count(*)::BIGINT AS n, count(*) FILTER (WHERE deleted_at IS NULL)::BIGINT AS live, sum(amount)::VARCHAR AS total`;

async function sides(ws: Workspace, url: string): Promise<{ postgres: Record<string, string>; duckdb: Record<string, string> }> {
  const pg = (await pgs.query(url, `SELECT ${SUMMARY.replace('::VARCHAR', '::text').replaceAll('::BIGINT', '::bigint')} FROM orders`)).rows[0];
  const duck = (await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT ${SUMMARY} FROM orders`), { readOnly: true }))[0];
  const asText = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]));
  return { postgres: asText(pg), duckdb: asText(duck) };
}

async function cli(ws: Workspace, url: string, args: string[]): Promise<string> {
  const res = await runCli(args, ws.env(url));
  assert.equal(res.code, 0, `${args.join(' ')}:\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

test('a mix of every change the cursor can and cannot see: run, reconcile, verify --repair, then equal', async () => {
  const url = await pgs.createDatabase('mixed_workload');
  await pgs.query(url, SQL);
  const ws = createWorkspace();
  try {
    ws.writePipeline(
      'orders',
      'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\n  soft_delete: deleted_at\ntarget:\n  table: orders\nbatch_size: 700\n',
    );
    await runOnce(ws, url);
    let s = await sides(ws, url);
    assert.deepEqual(s.duckdb, s.postgres);

    // Round 1: what the cursor sees (inserts, updates, soft deletes, an undelete, a key update) and what it
    // does not (hard deletes, rows back-dated below the checkpoint).
    await pgs.query(
      url,
      `INSERT INTO orders SELECT i, i * 2, 'new', clock_timestamp(), NULL FROM generate_series(3001, 3100) AS i;
       UPDATE orders SET amount = amount + 1, updated_at = clock_timestamp() WHERE id % 15 = 1;
       UPDATE orders SET deleted_at = clock_timestamp(), updated_at = clock_timestamp() WHERE id % 60 = 2;
       UPDATE orders SET id = id + 100000, updated_at = clock_timestamp() WHERE id IN (5, 6, 7);
       DELETE FROM orders WHERE id % 43 = 3;
       UPDATE orders SET amount = amount * 3, note = 'back-dated', updated_at = updated_at - interval '1 hour' WHERE id % 97 = 4;`,
    );
    const undeleted = await pgs.query(url, `UPDATE orders SET deleted_at = NULL, updated_at = clock_timestamp() WHERE id IN (2, 62) RETURNING id`);
    assert.equal(undeleted.rowCount, 2);
    await runOnce(ws, url);
    const position = readCheckpoint(ws, 'orders')?.position;
    s = await sides(ws, url);
    assert.notDeepEqual(s.duckdb, s.postgres, 'the run alone cannot see the hard deletes, the old keys of the key update, the back-dated rows');

    const reconciled = JSON.parse(await cli(ws, url, ['reconcile', 'orders', '--json'])) as { pipelines: { gone: number; removed: number }[] };
    // 70 hard deletes of synced rows (id % 43 = 3 among 1..3000; the 3 among the new ids never reached DuckDB)
    // and the 3 old keys of the key update.
    const hardDeleted = Array.from({ length: 3000 }, (_, i) => i + 1).filter((id) => id % 43 === 3).length;
    assert.equal(hardDeleted, 70);
    assert.deepEqual([reconciled.pipelines[0].gone, reconciled.pipelines[0].removed], [hardDeleted + 3, hardDeleted + 3]);

    const repaired = await cli(ws, url, ['verify', '--repair', 'orders']);
    assert.match(repaired, /✓ orders: equal/);
    await assertVerified(ws, url);
    s = await sides(ws, url);
    assert.deepEqual(s.duckdb, s.postgres);
    assert.deepEqual(readCheckpoint(ws, 'orders')?.position, position, 'reconcile and repair never move the checkpoint');
    const afterRound1 = Number(s.postgres.n);

    // Round 2: TRUNCATE, then rows back under old keys with a cursor below the checkpoint, and a few new ones.
    const beforeRound2 = new Set(await duckIds(ws, 'orders'));
    await pgs.query(
      url,
      `TRUNCATE orders;
       INSERT INTO orders SELECT i, i * 7, 'reborn', clock_timestamp() - interval '5 hours', NULL FROM generate_series(1, 400) AS i;
       INSERT INTO orders SELECT i, 1, 'fresh', clock_timestamp(), NULL FROM generate_series(5001, 5020) AS i;`,
    );
    await runOnce(ws, url);
    // The keyset read the fresh rows only (the re-inserted ones are below the checkpoint), but TRUNCATE
    // moved the relfilenode: the rewrite re-read (a backfill of every column) replaced the rows DuckDB
    // held under those keys and inserted the ones whose key it lacked (hard-deleted or moved in round 1).
    // DuckDB still holds round 1's other rows, which only a reconcile can remove.
    const inDuckDb = await duckIds(ws, 'orders');
    const reborn = Array.from({ length: 400 }, (_, i) => i + 1);
    const lacked = reborn.filter((id) => !beforeRound2.has(id)).length;
    assert.ok(lacked > 0, 'some reborn keys were gone from DuckDB');
    assert.equal(inDuckDb.length, afterRound1 + 20 + lacked);
    assert.ok(
      reborn.every((id) => inDuckDb.includes(id)),
      'every reborn row is in DuckDB after the run',
    );
    const inSource = new Set((await pgs.query(url, `SELECT id FROM orders`)).rows.map((r) => Number(r.id)));
    const truncated = JSON.parse(await cli(ws, url, ['reconcile', 'orders', '--json'])) as { pipelines: { removed: number }[] };
    assert.equal(truncated.pipelines[0].removed, inDuckDb.filter((id) => !inSource.has(id)).length, 'every row whose key is gone from the source');
    const repairedAgain = await cli(ws, url, ['verify', '--repair', 'orders']);
    assert.match(repairedAgain, /✓ orders: equal/);
    await assertVerified(ws, url);
    s = await sides(ws, url);
    assert.deepEqual(s.duckdb, s.postgres);
    assert.equal(s.duckdb.n, '420');
  } finally {
    ws.cleanup();
  }
});
