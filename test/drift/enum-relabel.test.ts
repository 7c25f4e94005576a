/**
 * Found by review: an enum value travels as its label (README "Types"). `ALTER TYPE … RENAME VALUE`
 * changes the label of every row holding it without rewriting the table or moving a cursor, and leaves
 * the column's declared type as it was: neither the drift check (columns, types) nor the rewrite guard
 * (relfilenode) saw it. DuckDB kept every row under the old label (a non-key column stayed stale for
 * good), and an enum key's next version landed beside its old row: one source row, two DuckDB rows.
 *
 * The source identity now records the labels of the table's enum types (src/postgres/source-identity.ts):
 * a renamed label is re-read as a rewrite is (every row, every column, the missing keys inserted); a
 * row whose primary key held the old label is a changed key, removed by the next reconcile (README
 * "Deletes"). An added label (`ADD VALUE`) changes no row and reads nothing again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { readCheckpoint, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { join } from 'node:path';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const rows = (ws: Workspace, sql: string) =>
  withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(sql)).map((r) => Object.values(r).map(String).join(' ')), { readOnly: true });

function backfills(ws: Workspace): number {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return store.backfills('plans').length;
  } finally {
    store.close();
  }
}

test('an enum primary key whose label is renamed: its rows are read under the new label, the old key removed by the reconcile', async () => {
  const url = await pgs.createDatabase('enum_relabel_key');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TYPE plan AS ENUM ('free', 'pro', 'team');
       CREATE TABLE plans (name plan PRIMARY KEY, price int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON plans (updated_at, name);
       INSERT INTO plans (name, price, updated_at) VALUES ('free', 0, '2025-01-01'), ('pro', 10, '2025-01-02'), ('team', 30, '2025-01-03');`,
    );
    ws.writePipeline('plans', 'source:\n  table: public.plans\n  primary_key: name\n  cursor: updated_at\ntarget:\n  table: plans\nbatch_size: 2\n');
    const source = async () => (await pgs.query(url, `SELECT name::text || ' ' || price AS r FROM plans ORDER BY 1`)).rows.map((r) => String(r.r));
    await runOnce(ws, url);
    assert.deepEqual(await rows(ws, 'SELECT name, price FROM plans ORDER BY 1'), await source());

    // Renamed, the row not touched since: no cursor moves, so only the re-read can bring its new key.
    await pgs.query(url, `ALTER TYPE plan RENAME VALUE 'pro' TO 'business'`);
    await runOnce(ws, url);
    // The new label's row is there; the old label's is a changed key, until the reconcile.
    assert.deepEqual(await rows(ws, 'SELECT name, price FROM plans ORDER BY 1'), ['business 10', 'free 0', 'pro 10', 'team 30']);
    const [record] = await reconcileOnce(ws, url);
    assert.equal(record.removed, 1);
    assert.deepEqual(await rows(ws, 'SELECT name, price FROM plans ORDER BY 1'), await source());
    // Then the row updated: one row under its key.
    await pgs.query(url, `UPDATE plans SET price = 12, updated_at = now() WHERE name = 'business'`);
    await runOnce(ws, url);
    assert.deepEqual(await rows(ws, 'SELECT name, price FROM plans ORDER BY 1'), ['business 12', 'free 0', 'team 30']);
  } finally {
    ws.cleanup();
  }
});

test('an enum column whose label is renamed: every row takes the new label; a label added reads nothing again', async () => {
  const url = await pgs.createDatabase('enum_relabel_column');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TYPE tier AS ENUM ('free', 'pro');
       CREATE TABLE plans (id int PRIMARY KEY, tier tier NOT NULL, tiers tier[] NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON plans (updated_at, id);
       INSERT INTO plans SELECT g, CASE WHEN g % 2 = 0 THEN 'pro' ELSE 'free' END::tier, ARRAY['pro', 'free']::tier[],
         '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 6) AS g;`,
    );
    ws.writePipeline('plans', 'source:\n  table: public.plans\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: plans\nbatch_size: 4\n');
    await runOnce(ws, url);
    const before = backfills(ws);
    const position = readCheckpoint(ws, 'plans')?.position;

    await pgs.query(url, `ALTER TYPE tier RENAME VALUE 'pro' TO 'premium'`);
    await runOnce(ws, url);
    assert.deepEqual(await rows(ws, `SELECT tier, count(*) FROM plans GROUP BY 1 ORDER BY 1`), ['free 3', 'premium 3']);
    assert.deepEqual(await rows(ws, `SELECT DISTINCT array_to_string(tiers, ',') FROM plans`), ['premium,free']);
    assert.deepEqual(readCheckpoint(ws, 'plans')?.position, position, 'no cursor moved: the checkpoint stays');
    assert.equal(backfills(ws), before + 1, 'one re-read');

    await pgs.query(url, `ALTER TYPE tier ADD VALUE 'team'`);
    await runOnce(ws, url);
    assert.equal(backfills(ws), before + 1, 'an added label changes no row: no re-read');
  } finally {
    ws.cleanup();
  }
});
