/**
 * The bytes a run reports count the Parquet files its backfills write (issue #13's closing note):
 * a run whose only work is a backfill (a column added with a DEFAULT, no row's cursor moved) says
 * so at INFO with bytes equal to the size of the backfill files on disk, `status` records the same,
 * and /metrics' pgduck_parquet_bytes_written_total counts them, while no row nor batch is counted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { loadWorkspace } from '../support/sync-checks.js';
import { driftCase, assertOk } from './drift-fixture.js';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';
import { Lake } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { checkpointDbPath } from '../../src/runner/settings.js';
import { runRecorded } from '../../src/runner/pool.js';
import { createServiceMetrics } from '../../src/runner/service-metrics.js';
import { PipelineHealth } from '../../src/runner/pipeline-health.js';
import { DEFAULT_RETRY_POLICY } from '../../src/runner/retry-policy.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** The backfill history files of a pipeline: name → size. */
function backfillFiles(parquetDir: string, pipeline: string): Map<string, number> {
  const dir = join(parquetDir, pipeline, 'backfill');
  if (!existsSync(dir)) return new Map();
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.parquet'))
      .map((f) => [f, statSync(join(dir, f)).size]),
  );
}

const sum = (sizes: Iterable<number>) => [...sizes].reduce((a, b) => a + b, 0);

test('a run that only backfills reports the bytes of the files it wrote: the INFO line, status and /metrics', async () => {
  const c = await driftCase(pgs);
  try {
    // The 60 rows were just written: a sync right after loads the newest, above the commit-safe horizon
    // (margin_ms, 1 s), but leaves the checkpoint behind them, so the next run reads them again. Sync
    // until the checkpoint covers the newest row (not only until DuckDB holds 60 rows: seen failing
    // with 6 rows read again), so the run below only backfills.
    const covered = async () => {
      const cursor = c.checkpoint()?.position?.cursor;
      if (!cursor) return false;
      const [r] = await c.sql(`SELECT '${cursor.replaceAll("'", "''")}'::timestamptz >= max(updated_at) AS ok FROM items`);
      return r.ok === true;
    };
    await c.sync();
    for (let i = 0; i < 20 && !(await covered()); i++) {
      await new Promise((r) => setTimeout(r, 250));
      await c.sync();
    }
    assert.ok(await covered(), 'the checkpoint covers every source row');
    assert.deepEqual(await c.duck('SELECT count(*)::INT AS n FROM items'), [{ n: 60 }]);
    const main = c.checkpoint();
    assert.equal(backfillFiles(c.ws.parquetDir, 'items').size, 0);

    // 1. Through the CLI: one INFO line for the run, 0 rows, the backfill files' bytes.
    await c.sql(`ALTER TABLE items ADD COLUMN region text NOT NULL DEFAULT 'eu'`);
    const res = await c.run();
    assertOk(res);
    const first = backfillFiles(c.ws.parquetDir, 'items');
    assert.equal(first.size, 6, '60 rows re-read in batches of 10');
    const written = sum(first.values());
    assert.ok(written > 0);
    const lines = res.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; rows?: number; bytes?: number; batches?: number });
    const synced = lines.filter((l) => l.msg === 'pipeline synced');
    assert.equal(synced.length, 1, `one INFO line for the run:\n${res.stderr}`);
    assert.equal(synced[0].level, 30);
    assert.deepEqual([synced[0].rows, synced[0].batches, synced[0].bytes], [0, 0, written]);
    const cp = c.checkpoint();
    assert.equal(cp?.lastRunBytes, written, 'the state store (pgduck status) records the same bytes');
    assert.deepEqual([cp?.position, cp?.rowsTotal], [main?.position, main?.rowsTotal], 'the main checkpoint did not move');
    const status = JSON.parse((await c.cli(['status', '--json'])).stdout) as { pipelines: { pipeline: string; lastRun: { bytes: number } | null }[] };
    assert.equal(status.pipelines.find((p) => p.pipeline === 'items')?.lastRun?.bytes, written);
    assert.deepEqual(await c.duck(`SELECT count(*)::INT AS n FROM items WHERE region = 'eu'`), [{ n: 60 }]);

    // 2. In process, with the service's metrics on RunDeps.onBatch: the second backfill's bytes, no rows.
    await c.sql(`ALTER TABLE items ADD COLUMN tier int NOT NULL DEFAULT 3`);
    const env = c.ws.env(c.url);
    const { pipelines, settings } = loadWorkspace(env, []);
    const health = new PipelineHealth(DEFAULT_RETRY_POLICY);
    const metrics = createServiceMetrics({
      view: () => [{ pipeline: 'items', health: health.snapshot, nextRun: null, nextReconcile: null }],
      healthy: () => true,
    });
    metrics.track();
    const store = new CheckpointStore(checkpointDbPath(settings));
    const lake = new Lake();
    let outcome;
    try {
      outcome = await runRecorded(pipelines[0], { lake, store, log: pino({ level: 'silent' }), onBatch: metrics.onBatch });
    } finally {
      await lake.close();
      store.close();
    }
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const second = sum([...backfillFiles(c.ws.parquetDir, 'items')].filter(([name]) => !first.has(name)).map(([, size]) => size));
    assert.ok(second > 0);
    assert.equal(outcome.summary.bytes, second);
    assert.equal(outcome.stats.bytes, second);
    const m = parsePrometheusText(await metrics.render());
    assert.equal(sampleValue(m, 'pgduck_parquet_bytes_written_total', { pipeline: 'items' }), second);
    assert.equal(sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'items' }), 0);
    assert.equal(sampleValue(m, 'pgduck_batches_total', { pipeline: 'items' }), 0);
    await c.assertSynced();
  } finally {
    c.cleanup();
  }
});
