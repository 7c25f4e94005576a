/**
 * `pgduck verify` through the real CLI: equal after a sync, each kind of corruption found and named
 * by key (a changed value, a row missing from DuckDB, an extra row, a row hard-deleted in Postgres, a
 * tombstone lost), exit codes 0 / 1 / 2, and narrowing on a 50,000-row table: one corrupted row is
 * found by hashing ranges, fetching a few hundred rows instead of the table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { createWorkspace, demoPipelines, runCli, type Workspace } from '../support/workspace.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import type { PipelineVerification } from '../../src/commands/verify.js';
import { readCheckpoint, resetCheckpoint, runOnce } from '../support/sync-checks.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { seedChanges } from '../../src/postgres/seed-changes.js';

describe('pgduck verify', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('verify');
    await applyInitScripts(url, { seedAccounts: 300 });
    await pg.query(
      url,
      `CREATE TABLE big (id bigint PRIMARY KEY, note text, amount numeric(12,2), updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO big SELECT g, md5(g::text), g / 100.0 FROM generate_series(1, 50000) AS g;`,
    );
    ws = createWorkspace();
    demoPipelines(ws, 1000);
    ws.writePipeline('big', 'source:\n  table: public.big\n  primary_key: id\ntarget:\n  table: big\nbatch_size: 20000\n');
    await runOnce(ws, url);
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  const duck = (sql: string) => withDuckDbFile(ws.duckdbPath, (s) => s.run(sql));
  const duckRows = (sql: string) => withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true });
  const checkpoints = () => {
    const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
    try {
      return store.all();
    } finally {
      store.close();
    }
  };
  /** The pipeline's checkpoint is at or past the row (cursor, id): a run no longer re-reads it. */
  const checkpointPassed = async (pipeline: string, id: string) => {
    const position = readCheckpoint(ws, pipeline)?.position;
    if (!position) return false;
    const res = await pg.query(url, `SELECT ($1::timestamptz, $2::bigint) >= (updated_at, id) AS passed FROM public.${pipeline} WHERE id = $3`, [
      position.cursor,
      position.key[0],
      id,
    ]);
    return res.rows[0].passed === true;
  };

  test('equal after a sync: exit 0, one line per pipeline', async () => {
    const res = await runCli(['verify'], ws.env(url));
    assert.equal(res.code, 0, res.stdout + res.stderr);
    for (const name of ['accounts', 'subscriptions', 'invoices', 'invoice_lines', 'big']) assert.match(res.stdout, new RegExp(`✓ ${name}: equal \\(\\d+ rows`));
    const json = await runCli(['verify', 'accounts', 'invoice_lines', '--json'], ws.env(url));
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { equal: boolean; pipelines: PipelineVerification[] };
    assert.equal(out.equal, true);
    assert.deepEqual(
      out.pipelines.map((p) => [p.pipeline, p.verdict?.sourceRows, p.verdict?.targetRows]),
      [
        ['accounts', 300, 300],
        ['invoice_lines', 1800, 1800],
      ],
    );
  });

  test('soft deletes: a tombstoned row is compared as a row; a tombstone lost in DuckDB is a changed row', async () => {
    // What `pgduck seed-changes` does, in this process (the command's output is walking-skeleton's to test).
    const client = await connectPostgres(url);
    const seeded = await seedChanges(client).finally(() => client.end());
    const deleted = seeded.find((c) => c.table === 'accounts')?.softDelete;
    assert.ok(deleted, JSON.stringify(seeded));
    await runOnce(ws, url);
    assert.equal((await runCli(['verify'], ws.env(url))).code, 0);
    // The premise below (the row is behind the checkpoint): a run within horizon.margin_ms of the
    // soft delete keeps the checkpoint before it, and the next run would re-read (and repair) it.
    for (let i = 0; !(await checkpointPassed('accounts', deleted)); i++) {
      assert.ok(i < 20, 'the accounts checkpoint never passed the soft-deleted row');
      await sleep(250);
      await runOnce(ws, url, ['--only', 'accounts']);
    }
    await duck(`UPDATE accounts SET deleted_at = NULL WHERE id = ${deleted}`);
    const res = await runCli(['verify', 'accounts'], ws.env(url));
    assert.equal(res.code, 1);
    assert.match(res.stdout, new RegExp(`changed +id=${deleted} +\\(columns differ: deleted_at\\)`));
    await runOnce(ws, url, ['--only', 'accounts']);
    // The row's cursor did not move, so the sync does not repair it: reset + run does.
    assert.equal((await runCli(['verify', 'accounts'], ws.env(url))).code, 1);
    resetCheckpoint(ws, 'accounts');
    await runOnce(ws, url, ['--only', 'accounts']);
    assert.equal((await runCli(['verify', 'accounts'], ws.env(url))).code, 0);
  });

  test('a changed value, a missing row, an extra row and a hard delete are each named by key: exit 1', async () => {
    // A hard delete is invisible to the cursor: the sync keeps the row (its invoices' ON DELETE SET NULL is an update, and syncs).
    const sub = (await pg.query(url, 'SELECT id::text AS id FROM subscriptions ORDER BY id LIMIT 1 OFFSET 7')).rows[0].id as string;
    await pg.query(url, `DELETE FROM subscriptions WHERE id = $1`, [sub]);
    await runOnce(ws, url);
    await duck(`UPDATE accounts SET name = name || ' (edited)' WHERE id = 17`);
    await duck(`DELETE FROM invoices WHERE id = 42`);
    await duck(`INSERT INTO invoice_lines SELECT * REPLACE (99 AS line_no) FROM invoice_lines WHERE invoice_id = 5 AND line_no = 1`);

    const res = await runCli(['verify'], ws.env(url));
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /✗ accounts: 1 differing row .*1 changed/);
    assert.match(res.stdout, /changed +id=17 +\(columns differ: name\)/);
    assert.match(res.stdout, /missing +id=42 +\(in the source, not in the target\)/);
    assert.match(res.stdout, /extra +invoice_id=5, line_no=99 +\(in the target only/);
    assert.match(res.stdout, new RegExp(`extra +id=${sub} +\\(in the target only \\(hard-deleted in the source\\?\\)\\)`));
    assert.match(res.stdout, /✓ big: equal/);

    const json = await runCli(['verify', '--json'], ws.env(url));
    assert.equal(json.code, 1);
    const out = JSON.parse(json.stdout) as { equal: boolean; pipelines: PipelineVerification[] };
    assert.equal(out.equal, false);
    // `tuple` is the key as verify compares it (what --repair reads by); the display key is what a person reads.
    const diffs = Object.fromEntries(out.pipelines.map((p) => [p.pipeline, p.verdict?.differences.map(({ tuple: _, ...d }) => d)]));
    assert.deepEqual(diffs.accounts, [{ kind: 'changed', key: { id: '17' }, columns: ['name'] }]);
    assert.deepEqual(diffs.invoices, [{ kind: 'missing', key: { id: '42' } }]);
    assert.deepEqual(diffs.invoice_lines, [{ kind: 'extra', key: { invoice_id: '5', line_no: '99' } }]);
    assert.deepEqual(diffs.subscriptions, [{ kind: 'extra', key: { id: sub } }]);
    assert.deepEqual(diffs.big, []);
    assert.match(res.stdout, /pgduck verify --repair accounts would read these keys again from Postgres/);

    // --repair: each difference is read again and written or removed; the checkpoints do not move.
    const before = checkpoints();
    const repaired = await runCli(['verify', '--repair'], ws.env(url));
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.match(repaired.stdout, /✓ accounts: equal/);
    assert.match(repaired.stdout, /repair round 1: 1 key read again: 1 written, 0 removed/);
    assert.match(repaired.stdout, /subscriptions: equal[^\n]*\n +repair round 1: 1 key read again: 0 written, 1 removed/);
    assert.deepEqual(
      checkpoints().map((c) => [c.pipeline, c.position]),
      before.map((c) => [c.pipeline, c.position]),
    );
    assert.deepEqual(await duckRows(`SELECT name NOT LIKE '%(edited)' AS restored FROM accounts WHERE id = 17`), [{ restored: true }]);
    assert.deepEqual(await duckRows(`SELECT count(*)::INT AS n FROM invoices WHERE id = 42`), [{ n: 1 }]);
    assert.deepEqual(await duckRows(`SELECT count(*)::INT AS n FROM subscriptions WHERE id = '${sub}'`), [{ n: 0 }]);
    assert.equal((await runCli(['verify'], ws.env(url))).code, 0);
  });

  test('a 50,000-row table with one corrupted row: narrowed down, not dumped', async () => {
    await duck(`UPDATE big SET amount = amount + 0.01 WHERE id = 31337`);
    const res = await runCli(['verify', 'big', '--json'], ws.env(url));
    assert.equal(res.code, 1, res.stderr);
    const v = (JSON.parse(res.stdout) as { pipelines: PipelineVerification[] }).pipelines[0];
    assert.deepEqual(
      v.verdict?.differences.map(({ tuple: _, ...d }) => d),
      [{ kind: 'changed', key: { id: '31337' }, columns: ['amount'] }],
    );
    const stats = v.verdict?.stats;
    assert.ok(stats);
    // 50,000 → one pass per side cut into 391 parts of ~128 rows (verify-table.ts); the one differing
    // part is cut again into parts of 8 keys (its ~128 rows hashed once more on each side), and only
    // the differing one is fetched: from Postgres, at most 8 rows.
    assert.ok(stats.rowsHashed > 2 * 50_000 && stats.rowsHashed <= 2 * 50_130, JSON.stringify(stats));
    assert.equal(stats.deepestLevel, 2, JSON.stringify(stats));
    assert.ok(stats.sourceRowsFetched <= 8, `fetched ${stats.sourceRowsFetched} rows of 50,000 from Postgres`);
    assert.ok(stats.rowsFetched <= 130 + 2 * 8, `fetched ${stats.rowsFetched} rows of 50,000`);
    assert.ok(stats.rangesDigested >= 2 * (391 + 16), JSON.stringify(stats));
  });

  test('exit 2 for usage and configuration errors', async () => {
    const unknown = await runCli(['verify', 'no_such_pipeline'], ws.env(url));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown pipeline: no_such_pipeline/);
    assert.equal((await runCli(['verify', '--no-such-flag'], ws.env(url))).code, 2);
    assert.equal((await runCli(['verify', '--limit', 'many'], ws.env(url))).code, 2);
    const brokenDir = join(ws.dir, 'broken');
    mkdirSync(brokenDir, { recursive: true });
    writeFileSync(join(brokenDir, 'bad.yml'), 'source:\n  table: public.accounts\ntarget:\n  table: accounts\n');
    const broken = await runCli(['--pipelines', brokenDir, 'verify'], ws.env(url));
    assert.equal(broken.code, 3, 'invalid configuration');
    assert.match(broken.stderr, /primary_key/);
  });
});
