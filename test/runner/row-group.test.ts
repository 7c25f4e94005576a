/**
 * Row-group transactions (src/runner/row-group.ts): batches share one DuckDB transaction until it
 * holds `groupRows` rows, and their checkpoints are written only after its COMMIT (rule 5). Here the
 * group is 300 rows (3 batches of 100) so a small table has several groups; the runner is the one
 * `pgduck run` uses, on real Postgres and a real DuckDB file.
 *
 * - Before every step of every batch, what another connection sees committed in DuckDB and what the
 *   state store says agree (rows and batches), and both move only at group boundaries.
 * - A failure inside the transaction in a later batch of a group (the upsert's cast of a numeric NaN)
 *   rolls the whole group back: DuckDB and the checkpoint stay at the last committed group, the error
 *   says so, and the next run (the value fixed) ends equal to the source.
 * - A row updated between two batches of one group (deleted and inserted again in the same
 *   transaction) lands once, in its newest version.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { Lake } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline, type RunDeps } from '../../src/runner/run-pipeline.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { createLogger } from '../../src/log/logger.js';
import { StageError } from '../../src/runner/stage-error.js';
import { tableSpec } from '../support/table-spec.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

async function workspace(url: string, table: string) {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-row-group-'));
  const duckdbPath = join(dir, 'lake.duckdb');
  const store = new CheckpointStore(join(dir, 'state.db'));
  const lake = new Lake();
  const pipeline = resolvePipeline(tableSpec(table, 100), { databaseUrl: url, duckdbPath, parquetDir: join(dir, 'parquet') });
  const deps: RunDeps = { lake, store, log: createLogger({ level: 'silent', format: 'json' }), groupRows: 300 };
  /** Rows committed in DuckDB, seen from a connection of its own (the run's open transaction is invisible to it). */
  const committedRows = () =>
    lake.withSession(duckdbPath, async (s) => {
      const exists = await s.all(`SELECT count(*)::INT AS n FROM duckdb_tables() WHERE database_name = '${s.catalogName}' AND table_name = '${table}'`);
      if (Number(exists[0].n) === 0) return 0;
      return Number((await s.all(`SELECT count(*)::INT AS n FROM ${s.catalog}.main."${table}"`))[0].n);
    });
  return {
    duckdbPath,
    store,
    deps,
    committedRows,
    run: (extra: Partial<RunDeps> = {}) => runPipeline(compilePipeline(pipeline), { ...deps, ...extra }),
    async close() {
      await lake.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a bootstrap commits 3 batches at a time: DuckDB and the checkpoint agree before every step and move together', async () => {
  const url = await pgs.createDatabase('row_group_steps');
  await pgs.query(
    url,
    `CREATE TABLE events (id int PRIMARY KEY, note text, amount numeric(10,2), updated_at timestamptz NOT NULL);
     INSERT INTO events SELECT g, 'row ' || g, g / 7.0, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond' FROM generate_series(1, 1050) AS g;`,
  );
  const ws = await workspace(url, 'events');
  try {
    const seen: [string, number, number, number, number][] = [];
    const summary = await ws.run({
      onStep: async (stage, batch) => {
        const cp = ws.store.get('events');
        seen.push([stage, batch, await ws.committedRows(), cp?.rowsTotal ?? 0, cp?.batchesTotal ?? 0]);
      },
    });
    assert.deepEqual([summary.rows, summary.batches, summary.bootstrapDone], [1050, 11, true]);
    // Every step saw DuckDB's committed rows equal to the checkpoint's, batch count included. (Not the
    // extracts: the next batch is read while a commit may be under way.)
    for (const [stage, batch, duck, rows, batches] of seen.filter(([stage]) => stage !== 'extract')) {
      assert.equal(duck, rows, `${stage} of batch ${batch}: DuckDB ${duck} committed rows, checkpoint ${rows}`);
      assert.equal(rows, batches * 100, `${stage} of batch ${batch}`);
    }
    // They moved only at group boundaries: after batches 3, 6 and 9 (300 rows each), then at the end.
    const atUpsert = seen.filter(([stage]) => stage === 'upsert').map(([, batch, duck]) => [batch, duck]);
    assert.deepEqual(atUpsert, [
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 300],
      [5, 300],
      [6, 300],
      [7, 600],
      [8, 600],
      [9, 600],
      [10, 900],
      [11, 900],
    ]);
    assert.equal(await ws.committedRows(), 1050);
    const cp = ws.store.get('events');
    assert.deepEqual([cp?.rowsTotal, cp?.batchesTotal, cp?.position?.key, cp?.bootstrapDone], [1050, 11, ['1050'], true]);
    assert.deepEqual(await compareTables(url, 'public.events', ws.duckdbPath, 'events', ['id']), { pgRows: 1050, duckRows: 1050, mismatches: [] });
  } finally {
    await ws.close();
  }
});

test('a failure inside the transaction in a later batch of a group rolls the group back; the checkpoint stays at the last committed group; the next run ends equal', async () => {
  const url = await pgs.createDatabase('row_group_failure');
  await pgs.query(
    url,
    `CREATE TABLE events (id int PRIMARY KEY, note text, amount numeric(10,2), updated_at timestamptz NOT NULL);
     INSERT INTO events SELECT g, 'row ' || g, g / 7.0, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond' FROM generate_series(1, 1000) AS g;
     UPDATE events SET amount = 'NaN' WHERE id = 750;`,
  );
  const ws = await workspace(url, 'events');
  try {
    // Groups: batches 1–3, 4–6, then 7–9; batch 8 (ids 701–800) holds the NaN, which DuckDB's DECIMAL cannot.
    const err = await ws.run().then(
      () => assert.fail('the run must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StageError, String(err));
    assert.match(err.message, /^pipeline events failed in upsert \(batch 8\): .*NaN/);
    assert.match(err.message, /6 batches of this run committed \(600 rows\); checkpoint not advanced past them; next run re-reads from .+ \/ 600$/);
    // Batch 7 was applied in the same transaction as batch 8: rolled back with it.
    assert.equal(await ws.committedRows(), 600);
    const cp = ws.store.get('events');
    assert.deepEqual([cp?.rowsTotal, cp?.batchesTotal, cp?.position?.key, cp?.bootstrapDone], [600, 6, ['600'], false]);

    // The value fixed (its cursor unchanged: the next run re-reads from the checkpoint anyway).
    await pgs.query(url, `UPDATE events SET amount = 750 / 7.0 WHERE id = 750`);
    const again = await ws.run();
    assert.deepEqual([again.rows, again.batches, again.bootstrapDone], [400, 4, true]);
    assert.deepEqual(await compareTables(url, 'public.events', ws.duckdbPath, 'events', ['id']), { pgRows: 1000, duckRows: 1000, mismatches: [] });
    const done = ws.store.get('events');
    assert.deepEqual([done?.rowsTotal, done?.batchesTotal, done?.position?.key, done?.bootstrapDone], [1000, 10, ['1000'], true]);
  } finally {
    await ws.close();
  }
});

test('a row updated between two batches of one group is deleted and inserted again in the same transaction: it lands once, newest version', async () => {
  const url = await pgs.createDatabase('row_group_moved');
  await pgs.query(
    url,
    `CREATE TABLE events (id int PRIMARY KEY, note text, amount numeric(10,2), updated_at timestamptz NOT NULL);
     INSERT INTO events SELECT g, 'row ' || g, g / 7.0, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond' FROM generate_series(1, 250) AS g;`,
  );
  const ws = await workspace(url, 'events');
  try {
    let moved = false;
    const summary = await ws.run({
      onStep: async (stage, batch) => {
        // Before batch 3's read: batch 1 (ids 1–100) is applied, not committed; row 5 moves past the end of the pass and is read again by batch 3.
        if (stage !== 'extract' || batch !== 3 || moved) return;
        moved = true;
        await pgs.query(url, `UPDATE events SET note = 'moved', updated_at = timestamptz '2025-06-01 00:00:00+00' WHERE id = 5`);
      },
    });
    assert.equal(moved, true);
    assert.equal(summary.rows, 251, 'row 5 was read twice, by batch 1 and by batch 3');
    assert.deepEqual(await compareTables(url, 'public.events', ws.duckdbPath, 'events', ['id']), { pgRows: 250, duckRows: 250, mismatches: [] });
  } finally {
    await ws.close();
  }
});
