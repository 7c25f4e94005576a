/**
 * The runner executes the compiled plan, nothing else: with real Postgres and a real DuckDB file,
 * the steps run for every batch (the empty one that ends a pass included) are exactly
 * compile(spec).steps, in order; the backfill step acts when drift-check recorded one; and a plan
 * whose steps differ is executed as it says.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline, type RunDeps } from '../../src/runner/run-pipeline.js';
import { compile, type Plan } from '../../src/runner/compile.js';
import { createLogger } from '../../src/log/logger.js';
import type { StageName } from '../../src/stages/stage.js';
import { tableSpec } from '../support/table-spec.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** Runs the plan and returns the steps executed, per batch, in the order they started. */
async function executed(plan: Plan, deps: Omit<RunDeps, 'onStep'>): Promise<{ perBatch: Map<number, StageName[]>; rows: number }> {
  const perBatch = new Map<number, StageName[]>();
  const summary = await runPipeline(plan, {
    ...deps,
    onStep: (stage, batch) => void perBatch.set(batch, [...(perBatch.get(batch) ?? []), stage]),
  });
  return { perBatch, rows: summary.rows };
}

test('every batch runs exactly the plan steps; the backfill step acts only after drift; a changed plan changes the run', async () => {
  const url = await pgs.createDatabase('executes_plan');
  await pgs.query(
    url,
    `CREATE TABLE items (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
     INSERT INTO items SELECT g, 'row ' || g, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 250) AS g;`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-executes-plan-'));
  const duckdbPath = join(dir, 'lake.duckdb');
  const store = new CheckpointStore(join(dir, 'state.db'));
  const lake = new Lake();
  const spec = tableSpec('items', 100);
  const deps = { lake, store, log: createLogger({ level: 'silent', format: 'json' }) };
  const plan = compile(spec, { duckdbPath, parquetDir: join(dir, 'parquet'), connection: url });
  const planned = plan.steps.map((s) => s.stage);
  assert.deepEqual(planned, ['extract', 'parquet', 'drift-check', 'compact', 'backfill', 'upsert', 'checkpoint']);
  try {
    // Bootstrap: three batches (100, 100, 50 rows; the short one drains the table).
    const boot = await executed(plan, deps);
    assert.equal(boot.rows, 250);
    assert.deepEqual([...boot.perBatch.keys()], [1, 2, 3]);
    for (const [seq, steps] of boot.perBatch) assert.deepEqual(steps, planned, `batch ${seq}`);

    // Nothing new: the empty batch goes through every step too; only the checkpoint's bootstrap mark changes anything.
    const idle = await executed(plan, deps);
    assert.equal(idle.rows, 0);
    assert.deepEqual([...idle.perBatch.entries()], [[4, planned]]);
    assert.equal(store.get('items')?.bootstrapDone, true);
    assert.equal(store.get('items')?.rowsTotal, 250);

    // A column added with a DEFAULT fills every existing row without moving its cursor: the backfill step re-reads them.
    await pgs.query(
      url,
      `ALTER TABLE items ADD COLUMN region text NOT NULL DEFAULT 'eu'; UPDATE items SET note = 'changed', updated_at = updated_at + interval '1 day' WHERE id = 7`,
    );
    const drift = await executed(plan, deps);
    assert.equal(drift.rows, 1);
    for (const [seq, steps] of drift.perBatch) assert.deepEqual(steps, planned, `batch ${seq}`);
    assert.deepEqual(
      store.backfills('items').map((b) => [b.rowsDone, b.finishedAt !== null]),
      [[250, true]],
      'the backfill step ran the backfill drift-check recorded',
    );
    const regions = await withDuckDbFile(duckdbPath, (s) => s.all(`SELECT region, count(*)::INT AS n FROM items GROUP BY region`));
    assert.deepEqual(regions, [{ region: 'eu', n: 250 }]);

    // A plan is data: the runner runs the steps it is given. Without its backfill step, a new
    // column's existing rows stay NULL in DuckDB (only the changed row brings its value).
    await pgs.query(url, `ALTER TABLE items ADD COLUMN tier int NOT NULL DEFAULT 3; UPDATE items SET updated_at = updated_at + interval '2 days' WHERE id = 8`);
    const without: Plan = { ...plan, steps: plan.steps.filter((s) => s.stage !== 'backfill') };
    const partial = await executed(without, deps);
    for (const [seq, steps] of partial.perBatch)
      assert.deepEqual(steps, ['extract', 'parquet', 'drift-check', 'compact', 'upsert', 'checkpoint'], `batch ${seq}`);
    const tiers = await withDuckDbFile(duckdbPath, (s) => s.all(`SELECT tier, count(*)::INT AS n FROM items GROUP BY tier ORDER BY tier NULLS LAST`));
    assert.deepEqual(tiers, [
      { tier: 3, n: 1 },
      { tier: null, n: 249 },
    ]);
    assert.equal(store.backfills('items').filter((b) => b.finishedAt === null).length, 1, 'recorded by drift-check, left pending');

    // The compiled plan again: its backfill step finishes the pending backfill, and the tables match.
    const full = await executed(plan, deps);
    for (const [seq, steps] of full.perBatch) assert.deepEqual(steps, planned, `batch ${seq}`);
    assert.deepEqual(await compareTables(url, 'public.items', duckdbPath, 'items', ['id']), { pgRows: 250, duckRows: 250, mismatches: [] });
  } finally {
    await lake.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plan that does not start with extract, or names an unknown stage, is refused before any I/O', async () => {
  const spec = tableSpec('x', 10);
  const plan = compile(spec, { duckdbPath: 'unused.duckdb' });
  // No store, lake or database behind these: the plan is checked before any of them is touched.
  const deps = {} as RunDeps;
  await assert.rejects(runPipeline({ ...plan, steps: plan.steps.slice(1) }, deps), /plan of x: the first step must be extract/);
  await assert.rejects(runPipeline({ ...plan, steps: [...plan.steps, { stage: 'vacuum' as StageName }] }, deps), /plan of x: no stage named "vacuum"/);
});
