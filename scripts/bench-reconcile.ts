/**
 * `npm run bench:reconcile [rows]`: what `pgduck reconcile` and the null-cursor sweep cost on a table
 * of `rows` rows (default 1,000,000) with nothing to do, and reconcile with 1,000 scattered hard
 * deletes: wall time, key rows read on both sides (and of those, the rows Postgres hashed and the keys it
 * sent back one by one), and the Postgres buffers the source side touched
 * (pg_stat_database blks_read + blks_hit, 8 kB each). A printed measurement, not a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/postgres/embedded-server.js';
import { loadPipelines } from '../src/config/load-pipelines.js';
import { resolvePipeline } from '../src/config/resolved-pipeline.js';
import { resolveSettings } from '../src/runner/settings.js';
import { runAllOnce } from '../src/runner/pool.js';
import { Lake } from '../src/duckdb/lake.js';
import { CheckpointStore } from '../src/state/checkpoint-store.js';
import { createLogger } from '../src/log/logger.js';
import { reconcilePipeline } from '../src/repair/reconcile-pipeline.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const server = await startEmbeddedPostgres();
// Under the repo (reachable by the embedded server's user when run as root), removed at the end.
const dir = mkdtempSync(join(process.cwd(), '.bench-reconcile-'));
const client = new pg.Client({ connectionString: server.url });
try {
  await client.connect();
  await client.query(`CREATE TABLE events (id bigint PRIMARY KEY, payload text NOT NULL, updated_at timestamptz);
    INSERT INTO events SELECT i, md5(i::text), clock_timestamp() - interval '1 hour' FROM generate_series(1, ${rows}) AS i;
    CREATE INDEX ON events (updated_at, id);`);
  await client.query('VACUUM ANALYZE events'); // VACUUM cannot run inside the multi-statement query's transaction
  const env = {
    DATABASE_URL: server.url,
    PIPELINES_DIR: join(dir, 'pipelines'),
    DUCKDB_PATH: join(dir, 'lake.duckdb'),
    PARQUET_DIR: join(dir, 'parquet'),
    STATE_DIR: join(dir, 'state'),
  };
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(env.PIPELINES_DIR, { recursive: true });
  writeFileSync(join(env.PIPELINES_DIR, 'events.yml'), 'source:\n  table: public.events\n  primary_key: id\ntarget:\n  table: events\nbatch_size: 50000\n');
  const settings = resolveSettings({}, env);
  const { specs } = loadPipelines([env.PIPELINES_DIR], env);
  const pipeline = resolvePipeline(specs[0], settings);
  const store = new CheckpointStore(join(env.STATE_DIR, 'checkpoints.db'));
  const lake = new Lake();
  const log = createLogger({ level: 'warn', format: 'json' });
  const sync = async () => {
    const [o] = await runAllOnce([pipeline], { lake, store, log }, 1);
    if (!o.ok) throw new Error(o.message);
    return o;
  };
  const blocks = async () =>
    Number((await client.query(`SELECT blks_read + blks_hit AS b FROM pg_stat_database WHERE datname = current_database()`)).rows[0].b);
  const measure = async (label: string, fn: () => Promise<string>) => {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const b0 = await blocks();
    const t0 = performance.now();
    const what = await fn();
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 600)); // stats are flushed about every 500 ms
    await client.query('SELECT pg_stat_clear_snapshot()');
    const kb = ((await blocks()) - b0) * 8;
    console.log(`${label}: ${ms.toFixed(0)} ms, Postgres buffers touched ${(kb / 1024).toFixed(1)} MB; ${what}`);
  };
  const fromPostgres = (r: { sourceRowsHashed?: number; sourceRowsFetched?: number }) =>
    `Postgres hashed ${(r.sourceRowsHashed ?? 0).toLocaleString('en')} rows and sent ${(r.sourceRowsFetched ?? 0).toLocaleString('en')} keys`;
  await sync();
  console.log(`${rows.toLocaleString('en')} rows synced`);
  await measure('run, nothing new, cursor NOT NULL-able but no NULL (sweep included)', async () => `${(await sync()).ok}`);
  await measure('reconcile, nothing to do', async () => {
    const r = await reconcilePipeline(pipeline, store);
    return `key rows read ${r.rowsRead.toLocaleString('en')} (source ${r.sourceKeys}, target ${r.targetKeys}), ${fromPostgres(r)}, removed ${r.removed}`;
  });
  await client.query(`DELETE FROM events WHERE id IN (SELECT (i * ${Math.floor(rows / 1000)})::bigint FROM generate_series(1, 1000) AS i)`);
  await measure('reconcile, 1,000 scattered hard deletes', async () => {
    const r = await reconcilePipeline(pipeline, store);
    return `key rows read ${r.rowsRead.toLocaleString('en')}, ${fromPostgres(r)}, gone ${r.gone}, removed ${r.removed}${r.error ? `, error ${r.error}` : ''}`;
  });
  store.close();
} finally {
  await client.end().catch(() => {});
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
