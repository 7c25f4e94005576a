/**
 * `npx tsx scripts/bench-compact.ts [rows] [rounds]`: how the DuckDB file grows when every row of the
 * table is updated again and again, with and without the compact step (src/stages/compact.ts). Seeds
 * `bench_events` (src/bench/bench-table.ts, default 1,000,000 rows) in an embedded Postgres,
 * bootstraps it in-process as `pgduck run --once` would, then `rounds` times (default 4) updates a
 * random half of the rows and runs a cycle, printing per round the cycle's time, the DuckDB file's
 * size and the table's row slots (DuckDB's estimated_size: rows and deleted ones). Runs the whole
 * thing twice, compaction off (no minimum reachable) and on (the default minimum). A printed
 * measurement, not a test.
 */
import pg from 'pg';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/postgres/embedded-server.js';
import { CHANGE_SQL, CREATE_SQL, INSERT_SQL, pipelineYaml } from '../src/bench/bench-table.js';
import { phaseEnv } from '../src/bench/bench-phase.js';
import { resolveSettings, checkpointDbPath } from '../src/runner/settings.js';
import { loadPipelines } from '../src/config/load-pipelines.js';
import { resolvePipeline } from '../src/config/resolved-pipeline.js';
import { CheckpointStore } from '../src/state/checkpoint-store.js';
import { Lake, withDuckDbFile } from '../src/duckdb/lake.js';
import { createLogger } from '../src/log/logger.js';
import { runAllOnce } from '../src/runner/pool.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 4);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

const server = await startEmbeddedPostgres();
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(CREATE_SQL);
  await admin.query(INSERT_SQL, [1, rows]);
  await admin.query('VACUUM ANALYZE bench_events');
  for (const compact of [false, true]) {
    const work = mkdtempSync(join(ROOT, '.bench-compact-'));
    try {
      mkdirSync(join(work, 'pipelines'), { recursive: true });
      writeFileSync(join(work, 'pipelines', 'bench_events.yml'), pipelineYaml(10_000, true));
      const env = { ...process.env, ...phaseEnv(server.url, work) };
      const settings = resolveSettings({}, env);
      const { specs } = loadPipelines([settings.pipelinesDir], env, settings.duckdbPath);
      const pipeline = resolvePipeline(specs[0], settings);
      const store = new CheckpointStore(checkpointDbPath(settings));
      const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
      const log = createLogger({ level: 'warn', format: 'json' });
      const deps = { lake, store, log, ...(compact ? {} : { compactMinDeleted: Number.MAX_SAFE_INTEGER }) };
      const cycle = async () => {
        const t0 = performance.now();
        const [o] = await runAllOnce([pipeline], deps, 1);
        if (!o.ok) throw new Error(o.message);
        return performance.now() - t0;
      };
      const state = async () => {
        const slots = await withDuckDbFile(settings.duckdbPath, (s) =>
          s.all(`SELECT estimated_size::BIGINT AS n FROM duckdb_tables() WHERE database_name = '${s.catalogName}' AND table_name = 'bench_events'`),
        );
        return `${(statSync(settings.duckdbPath).size / 1e6).toFixed(0)} MB, ${Number(slots[0].n).toLocaleString('en')} row slots`;
      };
      const boot = await cycle();
      process.stdout.write(`compaction ${compact ? 'on' : 'off'}: bootstrap ${(boot / 1000).toFixed(1)} s, ${await state()}\n`);
      for (let r = 1; r <= rounds; r++) {
        await admin.query(CHANGE_SQL, [Math.floor(rows / 2)]);
        await new Promise((res) => setTimeout(res, pipeline.spec.horizon.marginMs + 200));
        const ms = await cycle();
        process.stdout.write(`  round ${r}: ${(rows / 2).toLocaleString('en')} rows changed, cycle ${(ms / 1000).toFixed(1)} s, ${await state()}\n`);
      }
      store.close();
      await lake.close();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  await admin.end();
} finally {
  await server.stop();
}
