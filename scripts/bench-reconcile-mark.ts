/**
 * `npx tsx scripts/bench-reconcile-mark.ts [rows] [reps]`: reconcile's wall time under
 * hard_delete_mode remove and mark on two identical tables of `rows` rows (default 100,000), each
 * rep with 1,000 scattered hard deletes (a different spread each rep) applied to both. The two modes
 * alternate which goes first. Between reps the deleted rows are inserted again and synced (under mark,
 * that unmarks them). A printed measurement, not a test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const rows = Number(process.argv[2] ?? 100_000);
const reps = Number(process.argv[3] ?? 3);
const server = await startEmbeddedPostgres();
const dir = mkdtempSync(join(process.cwd(), '.bench-reconcile-mark-'));
const client = new pg.Client({ connectionString: server.url });
try {
  await client.connect();
  for (const t of ['ev_remove', 'ev_mark']) {
    await client.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, payload text NOT NULL, updated_at timestamptz NOT NULL);
      INSERT INTO ${t} SELECT i, md5(i::text), clock_timestamp() - interval '1 hour' FROM generate_series(1, ${rows}) AS i;
      CREATE INDEX ON ${t} (updated_at, id);`);
    await client.query(`VACUUM ANALYZE ${t}`);
  }
  const env = {
    DATABASE_URL: server.url,
    PIPELINES_DIR: join(dir, 'pipelines'),
    DUCKDB_PATH: join(dir, 'lake.duckdb'),
    PARQUET_DIR: join(dir, 'parquet'),
    STATE_DIR: join(dir, 'state'),
  };
  mkdirSync(env.PIPELINES_DIR, { recursive: true });
  for (const mode of ['remove', 'mark']) {
    writeFileSync(
      join(env.PIPELINES_DIR, `ev_${mode}.yml`),
      `source:\n  table: public.ev_${mode}\n  primary_key: id\n  hard_delete_mode: ${mode}\ntarget:\n  table: ev_${mode}\nbatch_size: 50000\n`,
    );
  }
  const settings = resolveSettings({}, env);
  const { specs } = loadPipelines([env.PIPELINES_DIR], env);
  const pipelines = specs.map((s) => resolvePipeline(s, settings));
  const store = new CheckpointStore(join(env.STATE_DIR, 'checkpoints.db'));
  const lake = new Lake();
  const log = createLogger({ level: 'warn', format: 'json' });
  const sync = async () => {
    for (const o of await runAllOnce(pipelines, { lake, store, log }, 1)) if (!o.ok) throw new Error(o.message);
  };
  await sync();
  await lake.close();
  const times: Record<string, number[]> = { remove: [], mark: [] };
  for (let rep = 0; rep < reps; rep++) {
    const ids = `SELECT (i * ${Math.floor(rows / 1000)} - ${rep})::bigint FROM generate_series(1, 1000) AS i`;
    for (const t of ['ev_remove', 'ev_mark']) await client.query(`DELETE FROM ${t} WHERE id IN (${ids})`);
    const order = rep % 2 === 0 ? pipelines : [...pipelines].reverse();
    for (const p of order) {
      const t0 = performance.now();
      const r = await reconcilePipeline(p, store);
      const ms = performance.now() - t0;
      if (r.error || r.gone !== 1000) throw new Error(`${p.spec.name}: ${r.error ?? `gone ${r.gone}`}`);
      times[p.spec.source.hardDeleteMode].push(ms);
      console.log(
        `rep ${rep + 1} ${p.spec.source.hardDeleteMode}: ${ms.toFixed(0)} ms, gone ${r.gone}, removed ${r.removed}, marked ${r.marked}, key rows read ${r.rowsRead}`,
      );
    }
    for (const t of ['ev_remove', 'ev_mark']) {
      await client.query(`INSERT INTO ${t} SELECT i, md5(i::text), clock_timestamp() - interval '10 minutes' FROM (${ids}) AS x(i)`);
    }
    await sync();
    await lake.close();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `${rows.toLocaleString('en')} rows, 1,000 scattered deletes, median of ${reps}: remove ${median(times.remove).toFixed(0)} ms, mark ${median(times.mark).toFixed(0)} ms`,
  );
  store.close();
} finally {
  await client.end().catch(() => {});
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
