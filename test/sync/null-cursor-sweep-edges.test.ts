/**
 * From a review: rows with a NULL cursor, or moving between NULL and a value, against the NULL-cursor
 * sweep (src/stages/null-cursor-sweep.ts) and the history replay. One defect found: the digests of a
 * sweep before the cursor was made NOT NULL waited in the state store, and once it was nullable again
 * hid rows back at NULL as that sweep saw them (DuckDB kept the dated versions). Every run now takes
 * (and forgets) the stored digests, whatever the cursor's nullability (src/stages/extract.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const rowsOf = (path: string, table: string) =>
  withDuckDbFile(
    path,
    async (s) =>
      (await s.all(`SELECT id, note, CAST(updated_at AS VARCHAR) AS updated_at FROM ${table} ORDER BY id`)).map((r) => ({
        id: Number(r.id),
        note: r.note as string | null,
        updated_at: r.updated_at as string | null,
      })),
    { readOnly: true },
  );

const pgRows = async (url: string) => (await pgs.query(url, `SELECT id, note, updated_at IS NULL AS n FROM legacy ORDER BY id`)) as unknown;

async function setup(name: string, batch = 2): Promise<{ url: string; ws: Workspace }> {
  const url = await pgs.createDatabase(name);
  await pgs.query(
    url,
    `CREATE TABLE legacy (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz);
     CREATE INDEX ON legacy (updated_at, id);
     INSERT INTO legacy VALUES (1, 'c1', '2025-01-01 00:00:00+00'), (2, 'a', NULL), (3, 'x', NULL), (4, 'c4', '2025-01-02 00:00:00+00'), (5, 'y', NULL);`,
  );
  const ws = createWorkspace();
  ws.writePipeline('legacy', `source:\n  table: public.legacy\n  primary_key: id\ntarget:\n  table: legacy\nbatch_size: ${batch}\n`);
  return { url, ws };
}

test('replay of a history where a row went from a cursor value to NULL: rebuilt table equals the synced one', async () => {
  const { url, ws } = await setup('rv_replay_to_null');
  try {
    await runOnce(ws, url);
    // Row 1 (loaded by the keyset) loses its cursor and changes; row 2 (NULL) is updated, still NULL.
    await pgs.query(url, `UPDATE legacy SET note = 'c1-null', updated_at = NULL WHERE id = 1`);
    await pgs.query(url, `UPDATE legacy SET note = 'a2' WHERE id = 2`);
    await runOnce(ws, url);
    // Row 3 (NULL) is given a cursor ahead, then row 5 changes.
    await pgs.query(url, `UPDATE legacy SET note = 'x3', updated_at = now() WHERE id = 3`);
    await pgs.query(url, `UPDATE legacy SET note = 'y2' WHERE id = 5`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    await assertVerified(ws, url);
    const synced = await rowsOf(ws.duckdbPath, 'legacy');
    assert.deepEqual(
      synced.map((r) => [r.id, r.note, r.updated_at === null]),
      [
        [1, 'c1-null', true],
        [2, 'a2', true],
        [3, 'x3', false],
        [4, 'c4', false],
        [5, 'y2', true],
      ],
    );
    const rebuilt = join(ws.dir, 'rebuilt.duckdb');
    const res = await runCli(['replay', 'legacy', '--duckdb', rebuilt], ws.env(url));
    assert.equal(res.code, 0, res.stderr.slice(-2000));
    assert.deepEqual(await rowsOf(rebuilt, 'legacy'), synced, 'replayed table vs synced table');
  } finally {
    ws.cleanup();
  }
});

test('a row given a cursor ahead, then back to NULL with a change, over several runs (batch_size 1)', async () => {
  const { url, ws } = await setup('rv_flip', 1);
  try {
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE legacy SET note = 'b', updated_at = now() WHERE id = 2`);
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE legacy SET note = 'a', updated_at = NULL WHERE id = 2`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE legacy SET note = 'c', updated_at = NULL WHERE id = 4`);
    await pgs.query(url, `INSERT INTO legacy VALUES (0, 'zero', NULL), (6, 'six', NULL)`);
    await pgs.query(url, `DELETE FROM legacy WHERE id = 3`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    const d = await rowsOf(ws.duckdbPath, 'legacy');
    const expect = [
      [0, 'zero', true],
      [1, 'c1', false],
      [2, 'a', true],
      [3, 'x', true], // hard delete: stays until a reconcile
      [4, 'c', true],
      [5, 'y', true],
      [6, 'six', true],
    ];
    assert.deepEqual(
      d.map((r) => [r.id, r.note, r.updated_at === null]),
      expect,
      JSON.stringify(await pgRows(url)),
    );
  } finally {
    ws.cleanup();
  }
});

test('soft_delete_mode remove: a NULL-cursor row tombstoned leaves DuckDB, untombstoned comes back', async () => {
  const url = await pgs.createDatabase('rv_soft_remove');
  await pgs.query(
    url,
    `CREATE TABLE legacy (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz, deleted_at timestamptz);
     CREATE INDEX ON legacy (updated_at, id);
     INSERT INTO legacy VALUES (1, 'c1', '2025-01-01 00:00:00+00', NULL), (2, 'a', NULL, NULL), (3, 'x', NULL, NULL);`,
  );
  const ws = createWorkspace();
  ws.writePipeline(
    'legacy',
    `source:\n  table: public.legacy\n  primary_key: id\n  soft_delete: deleted_at\n  soft_delete_mode: remove\ntarget:\n  table: legacy\nbatch_size: 2\n`,
  );
  const ids = () => withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT id FROM legacy ORDER BY id`)).map((r) => Number(r.id)), { readOnly: true });
  try {
    await runOnce(ws, url);
    assert.deepEqual(await ids(), [1, 2, 3]);
    await pgs.query(url, `UPDATE legacy SET deleted_at = now() WHERE id = 2`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    assert.deepEqual(await ids(), [1, 3], 'tombstoned NULL-cursor row removed');
    await pgs.query(url, `UPDATE legacy SET deleted_at = NULL WHERE id = 2`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    assert.deepEqual(await ids(), [1, 2, 3], 'untombstoned NULL-cursor row back');
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});

test('composite text key, batch_size 1: NULL-cursor rows inserted among keys, updated, and a column added', async () => {
  const url = await pgs.createDatabase('rv_composite');
  await pgs.query(
    url,
    `CREATE TABLE legacy (k1 text, k2 int, note text, updated_at timestamptz, PRIMARY KEY (k1, k2));
     CREATE INDEX ON legacy (updated_at, k1, k2);
     INSERT INTO legacy VALUES ('a', 1, 'a1', NULL), ('a', 10, 'a10', NULL), ('b', 2, 'b2', now()), ('c', 1, 'c1', NULL);`,
  );
  const ws = createWorkspace();
  ws.writePipeline('legacy', `source:\n  table: public.legacy\n  primary_key: [k1, k2]\ntarget:\n  table: legacy\nbatch_size: 1\n`);
  const all = () =>
    withDuckDbFile(
      ws.duckdbPath,
      async (s) => (await s.all(`SELECT k1, CAST(k2 AS INT) AS k2, note FROM legacy ORDER BY k1, k2`)).map((r) => [r.k1, r.k2, r.note]),
      {
        readOnly: true,
      },
    );
  try {
    await runOnce(ws, url);
    await pgs.query(url, `INSERT INTO legacy VALUES ('a', 2, 'a2', NULL), ('A', 5, 'A5', NULL); UPDATE legacy SET note = 'c1*' WHERE k1 = 'c'`);
    await runOnce(ws, url);
    await pgs.query(url, `ALTER TABLE legacy ADD COLUMN extra int DEFAULT 7`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE legacy SET note = 'a10*' WHERE k1 = 'a' AND k2 = 10`);
    await runOnce(ws, url);
    assert.deepEqual(
      await all(),
      [
        ['A', 5, 'A5'],
        ['a', 1, 'a1'],
        ['a', 2, 'a2'],
        ['a', 10, 'a10*'],
        ['b', 2, 'b2'],
        ['c', 1, 'c1*'],
      ].sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : String(x[0]) > String(y[0]) ? 1 : Number(x[1]) - Number(y[1]))),
    );
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});

test('cursor declared NOT NULL for a while, then nullable again: rows back to NULL as the old sweep saw them are synced', async () => {
  const { url, ws } = await setup('rv_notnull_period', 10);
  try {
    await runOnce(ws, url); // the sweep writes {2 a, 3 x, 5 y} and records its digest
    // The fix SOURCE_NULL_CURSOR names: give the rows a cursor and declare the column NOT NULL.
    await pgs.query(
      url,
      `UPDATE legacy SET note = note || '-dated', updated_at = now() WHERE updated_at IS NULL; ALTER TABLE legacy ALTER COLUMN updated_at SET NOT NULL`,
    );
    await runOnce(ws, url);
    await runOnce(ws, url);
    assert.deepEqual(
      (await rowsOf(ws.duckdbPath, 'legacy')).map((r) => r.note),
      ['c1', 'a-dated', 'x-dated', 'c4', 'y-dated'],
    );
    // Relaxed again; the legacy rows go back to NULL with their old values (a restore of that column).
    await pgs.query(
      url,
      `ALTER TABLE legacy ALTER COLUMN updated_at DROP NOT NULL;
       UPDATE legacy SET note = replace(note, '-dated', ''), updated_at = NULL WHERE id IN (2, 3, 5)`,
    );
    await runOnce(ws, url);
    await runOnce(ws, url);
    const d = await rowsOf(ws.duckdbPath, 'legacy');
    assert.deepEqual(
      d.map((r) => [r.id, r.note, r.updated_at === null]),
      [
        [1, 'c1', false],
        [2, 'a', true],
        [3, 'x', true],
        [4, 'c4', false],
        [5, 'y', true],
      ],
      'DuckDB after two clean runs (Postgres: 2 a, 3 x, 5 y with a NULL cursor)',
    );
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});

test('control for the test above: back to NULL with values the old sweep never saw is synced', async () => {
  const { url, ws } = await setup('rv_notnull_period_control', 10);
  try {
    await runOnce(ws, url);
    await pgs.query(
      url,
      `UPDATE legacy SET note = note || '-dated', updated_at = now() WHERE updated_at IS NULL; ALTER TABLE legacy ALTER COLUMN updated_at SET NOT NULL`,
    );
    await runOnce(ws, url);
    await pgs.query(
      url,
      `ALTER TABLE legacy ALTER COLUMN updated_at DROP NOT NULL;
       UPDATE legacy SET note = replace(note, '-dated', '-new'), updated_at = NULL WHERE id IN (2, 3, 5)`,
    );
    await runOnce(ws, url);
    assert.deepEqual(
      (await rowsOf(ws.duckdbPath, 'legacy')).map((r) => [r.id, r.note, r.updated_at === null]),
      [
        [1, 'c1', false],
        [2, 'a-new', true],
        [3, 'x-new', true],
        [4, 'c4', false],
        [5, 'y-new', true],
      ],
    );
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});

test('replay --duckdb after reset, a new pass, a reconcile and a prune (keep 1): the rebuilt table equals the synced one', async () => {
  const { url, ws } = await setup('rv_replay_prune', 2);
  try {
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE legacy SET note = 'a2' WHERE id = 2`);
    await runOnce(ws, url);
    const reset = await runCli(['reset', 'legacy'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr.slice(-2000));
    await runOnce(ws, url);
    await pgs.query(url, `DELETE FROM legacy WHERE id = 3`);
    const { reconcileOnce } = await import('../support/sync-checks.js');
    await reconcileOnce(ws, url);
    await pgs.query(url, `INSERT INTO legacy VALUES (3, 'x', NULL); UPDATE legacy SET note = 'y2' WHERE id = 5`);
    await runOnce(ws, url);
    await runOnce(ws, url);
    await assertVerified(ws, url);
    const prune = await runCli(['history', 'prune', 'legacy', '--keep', '1'], ws.env(url));
    assert.equal(prune.code, 0, prune.stdout + prune.stderr.slice(-2000));
    const synced = await rowsOf(ws.duckdbPath, 'legacy');
    const rebuilt = join(ws.dir, 'rebuilt2.duckdb');
    const res = await runCli(['replay', 'legacy', '--duckdb', rebuilt], ws.env(url));
    assert.equal(res.code, 0, res.stderr.slice(-2000));
    assert.deepEqual(await rowsOf(rebuilt, 'legacy'), synced, 'replayed table vs synced table');
  } finally {
    ws.cleanup();
  }
});
