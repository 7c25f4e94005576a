/**
 * The walking skeleton end to end, through the real CLI: embedded Postgres seeded from
 * postgres/init/, `pgduck run --once` into a real DuckDB file, compared value by value.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { compareTables } from '../support/compare-tables.js';
import { createWorkspace, demoPipelines, DEMO_KEYS, runCli, type Workspace } from '../support/workspace.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

describe('walking skeleton: demo tables synced end to end', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;
  const ACCOUNTS = 700; // 700 accounts → 1,400 subscriptions, 2,100 invoices, 4,200 lines

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('skeleton');
    await applyInitScripts(url, { seedAccounts: ACCOUNTS });
    ws = createWorkspace();
    demoPipelines(ws, 500); // smaller than every table: bootstrap takes several batches
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  const assertEqual = async () => {
    for (const [table, key] of Object.entries(DEMO_KEYS)) {
      const diff = await compareTables(url, `public.${table}`, ws.duckdbPath, table, key);
      assert.deepEqual(diff.mismatches, [], `${table} differs`);
      assert.equal(diff.duckRows, diff.pgRows, `${table} row count`);
    }
  };

  test('bootstrap in batches makes DuckDB equal to Postgres, every column of every row', async () => {
    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    await assertEqual();
    const counts = await withDuckDbFile(ws.duckdbPath, (s) =>
      s.all('SELECT (SELECT count(*) FROM accounts)::INT AS a, (SELECT count(*) FROM invoice_lines)::INT AS l'),
    );
    assert.deepEqual(counts[0], { a: ACCOUNTS, l: ACCOUNTS * 6 });
    // One Parquet file per batch: 4,200 lines / 500 = 9 batches at least.
    assert.ok(readdirSync(join(ws.parquetDir, 'invoice_lines')).filter((f) => f.endsWith('.parquet')).length >= 9);
    const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
    try {
      const cp = store.get('invoice_lines');
      assert.equal(cp?.bootstrapDone, true);
      assert.equal(cp?.rowsTotal, ACCOUNTS * 6);
      assert.match(cp?.position?.cursor ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00$/);
      assert.equal(cp?.position?.key.length, 2, 'composite key position');
    } finally {
      store.close();
    }
  });

  test('seed-changes + run applies exactly those changes', async () => {
    const seeded = await runCli(['seed-changes'], ws.env(url));
    assert.equal(seeded.code, 0, seeded.stderr);
    const line = seeded.stdout.split('\n').find((l) => l.startsWith('accounts:')) ?? '';
    const [, inserted, updated, deleted] = /inserted (\d+); updated (\d+); soft-deleted (\d+)/.exec(line) ?? [];
    assert.ok(inserted && updated && deleted, seeded.stdout);

    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    await assertEqual();
    const rows = await withDuckDbFile(ws.duckdbPath, (s) =>
      s.all(`SELECT id::VARCHAR AS id, plan, deleted_at IS NOT NULL AS deleted FROM accounts WHERE id IN (${inserted}, ${updated}, ${deleted}) ORDER BY id`),
    );
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    assert.equal(byId[inserted]?.plan, 'pro');
    assert.equal(byId[updated]?.plan, 'enterprise');
    assert.equal(byId[deleted]?.deleted, true);
    const current = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT count(*)::INT AS n FROM accounts_current WHERE id = ${deleted}`));
    assert.equal(current[0].n, 0, 'the _current view hides the tombstoned row');
  });

  test('running again with no changes changes nothing', async () => {
    const before = await withDuckDbFile(ws.duckdbPath, (s) =>
      s.all(`SELECT (SELECT md5(string_agg(a::VARCHAR, '|' ORDER BY id)) FROM accounts a) AS h, (SELECT count(*) FROM invoices)::INT AS n`),
    );
    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    const afterRun = await withDuckDbFile(ws.duckdbPath, (s) =>
      s.all(`SELECT (SELECT md5(string_agg(a::VARCHAR, '|' ORDER BY id)) FROM accounts a) AS h, (SELECT count(*) FROM invoices)::INT AS n`),
    );
    assert.deepEqual(afterRun, before);
    await assertEqual();
  });

  test("a source column added with ALTER TABLE ADD COLUMN shows up with the new rows' values", async () => {
    await pg.query(url, 'ALTER TABLE public.invoices ADD COLUMN po_number text');
    await pg.query(url, "UPDATE public.invoices SET po_number = 'PO-' || id WHERE id IN (SELECT id FROM public.invoices ORDER BY id LIMIT 3)");
    const res = await runCli(['run', '--once', '--only', 'invoices'], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    const rows = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT id::INT AS id, po_number FROM invoices WHERE po_number IS NOT NULL ORDER BY id'));
    assert.equal(rows.length, 3);
    for (const r of rows) assert.equal(r.po_number, `PO-${r.id}`);
    const status = await runCli(['status', '--json'], ws.env(url));
    const events = JSON.parse(status.stdout).schemaEvents as { pipeline: string; kind: string }[];
    assert.ok(events.some((e) => e.pipeline === 'invoices' && e.kind === 'added'));
  });

  test('query prints a table; reset makes the next run bootstrap again without doubling rows', async () => {
    const q = await runCli(['query', 'SELECT count(*) AS n FROM subscriptions'], ws.env(url));
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, new RegExp(`│ ${ACCOUNTS * 2 + 1}\\s+│`));
    const reset = await runCli(['reset', 'subscriptions'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr);
    const res = await runCli(['run', '--once', '--only', 'subscriptions'], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    await assertEqual();
  });

  test('a failing pipeline stops alone, names itself, and keeps its checkpoint', async () => {
    ws.writePipeline('broken', 'source:\n  table: public.no_such_table\n  primary_key: id\ntarget:\n  table: broken\n');
    try {
      await pg.query(url, "UPDATE public.accounts SET name = name || ' (renamed)' WHERE id = 1");
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, 'a missing source table needs action');
      assert.match(res.stdout, /✗ broken: .*public\.no_such_table does not exist.*checkpoint not advanced/);
      assert.match(res.stdout, /✓ accounts/);
      await assertEqual();
      // Recorded for `pgduck status`, with the table named, and no checkpoint for it.
      const status = JSON.parse((await runCli(['status', '--json'], ws.env(url))).stdout) as {
        checkpoints: { pipeline: string; lastStatus: string; lastError: string; lastErrorKind: string; lastErrorCode: string; position: unknown }[];
      };
      const broken = status.checkpoints.find((c) => c.pipeline === 'broken');
      assert.equal(broken?.lastStatus, 'failed');
      assert.deepEqual([broken?.lastErrorKind, broken?.lastErrorCode], ['needs-action', 'SOURCE_TABLE_MISSING']);
      assert.match(broken?.lastError ?? '', /public\.no_such_table does not exist.*checkpoint not advanced; next run starts from the beginning of the table/);
      assert.equal(broken?.position, null);
      assert.ok(status.checkpoints.filter((c) => c.pipeline !== 'broken').every((c) => c.lastStatus === 'ok'));
    } finally {
      const { rmSync } = await import('node:fs');
      rmSync(join(ws.pipelinesDir, 'broken.yml'));
    }
  });
});
