/**
 * The DuckDB file out of step with the state store, as operators move files over months (found by
 * review): a file put back to an older copy (the run continued from the newer checkpoint and never
 * loaded the rows the copy lacked), two target tables swapped by hand, another environment's file
 * copied in (the runs upserted one source into another's table). Every run, not only a bootstrap,
 * now checks the table's recorded source (TARGET_TAKEN) and the file's own record of the last batch
 * committed into it (src/duckdb/target-progress.ts): a file behind the checkpoint is bootstrapped
 * again. (A table dropped by hand while the source is idle, and rows deleted by hand, are the
 * documented limits: README "Guarantees".)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { duckIds, runOutcome, runOutcomes, settle } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const pipeline = (source: string, table: string) => `source:\n  table: public.${source}\n  primary_key: id\ntarget:\n  table: ${table}\nbatch_size: 5\n`;

async function sourceTable(url: string, name: string, n: number, note = 'old'): Promise<void> {
  await pgs.query(
    url,
    `CREATE TABLE ${name} (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON ${name} (updated_at, id);
     INSERT INTO ${name} SELECT g, '${note}', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, ${n}) AS g;`,
  );
}

/** One `run --once` (in process) that must refuse the pipeline as TARGET_TAKEN, naming what to run. */
async function assertRefusedAsTaken(ws: Workspace, url: string, pipeline: string): Promise<void> {
  const outcomes = await runOutcomes(ws, url);
  const outcome = outcomes.find((o) => o.pipeline === pipeline);
  assert.ok(outcome && !outcome.ok, `${pipeline} refused`);
  if (!outcome || outcome.ok) return;
  assert.equal(outcome.code, 'TARGET_TAKEN', outcome.message);
  assert.match(`${outcome.message} ${outcome.error.fix ?? ''}`, /syncing on into it would mix the two tables' rows[\s\S]*pgduck reset \w+ --drop-target/);
}

async function assertEqualToSource(ws: Workspace, url: string, pgTable: string, duckTable: string): Promise<void> {
  const diff = await compareTables(url, pgTable, ws.duckdbPath, duckTable, ['id']);
  assert.deepEqual(diff, { pgRows: diff.pgRows, duckRows: diff.pgRows, mismatches: [] }, `${duckTable} equals ${pgTable}`);
}

test('the DuckDB file restored from an older copy: the next run must not continue from the newer checkpoint', async () => {
  const url = await pgs.createDatabase('restored_duckdb');
  const ws = createWorkspace();
  try {
    await sourceTable(url, 'orders', 20);
    ws.writePipeline('orders', pipeline('orders', 'orders'));
    assert.equal((await runOutcome(ws, url)).ok, true);
    // The operator's nightly copy of the warehouse.
    const backup = join(ws.dir, 'warehouse.backup.duckdb');
    assert.equal(existsSync(`${ws.duckdbPath}.wal`), false);
    copyFileSync(ws.duckdbPath, backup);
    // A day of changes, synced.
    await pgs.query(
      url,
      `INSERT INTO orders (id, note) SELECT g, 'day2' FROM generate_series(21, 25) AS g; UPDATE orders SET note = 'day2', updated_at = now() WHERE id = 3`,
    );
    await settle();
    assert.equal((await runOutcome(ws, url)).ok, true);
    assert.deepEqual(
      await duckIds(ws, 'orders'),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    // The disk is lost; the warehouse is restored from the copy. The state store is kept.
    copyFileSync(backup, ws.duckdbPath);
    rmSync(`${ws.duckdbPath}.wal`, { force: true });
    await pgs.query(url, `UPDATE orders SET note = 'day3', updated_at = now() WHERE id = 4`);
    await settle();
    const outcome = await runOutcome(ws, url);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    await assertEqualToSource(ws, url, 'orders', 'orders');
  } finally {
    ws.cleanup();
  }
});

test('two target tables swapped by hand in DuckDB: an incremental run must not upsert one source into the other table', async () => {
  const url = await pgs.createDatabase('swapped_tables');
  const ws = createWorkspace();
  try {
    await sourceTable(url, 'apples', 10, 'apple');
    await sourceTable(url, 'pears', 10, 'pear');
    ws.writePipeline('apples', pipeline('apples', 'apples'));
    ws.writePipeline('pears', pipeline('pears', 'pears'));
    assert.equal((await runOutcome(ws, url)).ok, true);
    await withDuckDbFile(ws.duckdbPath, async (s) => {
      await s.run('ALTER TABLE apples RENAME TO swap_tmp');
      await s.run('ALTER TABLE pears RENAME TO apples');
      await s.run('ALTER TABLE swap_tmp RENAME TO pears');
    });
    await pgs.query(
      url,
      `UPDATE apples SET note = 'apple2', updated_at = now() WHERE id = 2; UPDATE pears SET note = 'pear2', updated_at = now() WHERE id = 2`,
    );
    await settle();
    await assertRefusedAsTaken(ws, url, 'apples');
    await assertRefusedAsTaken(ws, url, 'pears');
  } finally {
    ws.cleanup();
  }
});

test("another environment's DuckDB file copied in (prod's warehouse onto staging): the next run must not mix the two databases' rows", async () => {
  const prodUrl = await pgs.createDatabase('copied_prod');
  const stagingUrl = await pgs.createDatabase('copied_staging');
  const prod = createWorkspace();
  const staging = createWorkspace();
  try {
    await sourceTable(prodUrl, 'orders', 10, 'prod');
    await sourceTable(stagingUrl, 'orders', 5, 'staging');
    for (const ws of [prod, staging]) ws.writePipeline('orders', pipeline('orders', 'orders'));
    assert.equal((await runOutcome(prod, prodUrl)).ok, true);
    assert.equal((await runOutcome(staging, stagingUrl)).ok, true);
    // "Refresh staging's warehouse from prod": the file is copied, staging's state store kept.
    copyFileSync(prod.duckdbPath, staging.duckdbPath);
    await pgs.query(stagingUrl, `UPDATE orders SET note = 'staging2', updated_at = now() WHERE id = 2`);
    await settle();
    await assertRefusedAsTaken(staging, stagingUrl, 'orders');
  } finally {
    prod.cleanup();
    staging.cleanup();
  }
});
