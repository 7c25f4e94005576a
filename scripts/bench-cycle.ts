/**
 * `npx tsx scripts/bench-cycle.ts [rows] [cycles]`: where one incremental cycle's time goes, query by
 * query. Seeds `bench_events` (src/bench/bench-table.ts) with `rows` rows (default 1,000,000) in an
 * embedded Postgres, bootstraps it in-process as `pgduck run --once` would, then runs `cycles`
 * (default 5) cycles of 1,000 changed rows in the same warm process, each with every Postgres query,
 * every DuckDB statement and the DuckDB instance's close timed on its own (the drivers' prototypes are
 * wrapped for this script only), and prints the median per query kind. Also EXPLAINs the keyset query
 * (does it use the (cursor, key) index?) and times an idle cycle. BENCH_KEY_INDEX=false: the pipeline
 * with target.key_index: false. A printed measurement, not a test.
 */
import pg from 'pg';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/postgres/embedded-server.js';
import { CHANGE_SQL, CREATE_SQL, INSERT_SQL, pipelineYaml } from '../src/bench/bench-table.js';
import { phaseEnv } from '../src/bench/bench-phase.js';
import { resolveSettings, checkpointDbPath } from '../src/runner/settings.js';
import { loadPipelines } from '../src/config/load-pipelines.js';
import { resolvePipeline } from '../src/config/resolved-pipeline.js';
import { CheckpointStore } from '../src/state/checkpoint-store.js';
import { Lake } from '../src/duckdb/lake.js';
import { createLogger } from '../src/log/logger.js';
import { runAllOnce } from '../src/runner/pool.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const cycles = Number(process.argv[3] ?? 5);
const ROOT = fileURLToPath(new URL('../', import.meta.url));

// ---- timing of every driver call, by a short label of its SQL ----
let samples: Map<string, number[]> | null = null;
const label = (sql: string) => {
  const s = sql.replace(/\s+/g, ' ').trim();
  if (/^COPY \(SELECT/i.test(s)) return 'pg: COPY keyset batch (csv)';
  if (/WITH me AS/.test(s)) return 'pg: horizon';
  if (/WITH RECURSIVE rel/.test(s)) return 'pg: introspectTable';
  if (/pk_position/.test(s)) return 'pg: introspectShape';
  return s.slice(0, 70);
};
const note = (name: string, ms: number) => {
  if (!samples) return;
  const list = samples.get(name) ?? [];
  list.push(ms);
  samples.set(name, list);
};
const origQuery = pg.Client.prototype.query;
(pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  const t0 = performance.now();
  const first = args[0] as { text?: string; submit?: unknown; _query?: string } | string;
  const text = typeof first === 'string' ? first : (first.text ?? first._query ?? '');
  const out = (origQuery as (...a: unknown[]) => unknown).apply(this, args);
  if (first && typeof first === 'object' && 'submit' in first) {
    // A submittable (COPY TO stream): done at its 'end'.
    const stream = first as unknown as NodeJS.ReadableStream;
    const l = `pg: ${text ? label(text) : 'COPY keyset batch (csv)'}`.replace('pg: pg: ', 'pg: ');
    stream.on('end', () => note(l, performance.now() - t0));
    return out;
  }
  if (out && typeof (out as Promise<unknown>).then === 'function') {
    const l = label(text).startsWith('pg:') ? label(text) : `pg: ${label(text)}`;
    (out as Promise<unknown>).then(
      () => note(l, performance.now() - t0),
      () => {},
    );
  }
  return out;
};
const origConnect = pg.Client.prototype.connect;
(pg.Client.prototype as unknown as { connect: (...a: unknown[]) => unknown }).connect = async function (this: pg.Client, ...args: unknown[]) {
  const t0 = performance.now();
  try {
    return await (origConnect as (...a: unknown[]) => Promise<unknown>).apply(this, args);
  } finally {
    note('pg: connect', performance.now() - t0);
  }
};
for (const method of ['run', 'runAndReadAll'] as const) {
  const orig = DuckDBConnection.prototype[method] as (...a: unknown[]) => Promise<unknown>;
  (DuckDBConnection.prototype as unknown as Record<string, unknown>)[method] = async function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
    const t0 = performance.now();
    try {
      return await orig.call(this, sql, ...rest);
    } finally {
      note(
        `duck: ${sql
          .replace(/\s+/g, ' ')
          .replace(/"lake_[0-9a-f]+"/g, 'lake')
          .slice(0, 70)}`,
        performance.now() - t0,
      );
    }
  };
}
const origClose = DuckDBInstance.prototype.closeSync;
DuckDBInstance.prototype.closeSync = function (this: DuckDBInstance) {
  const t0 = performance.now();
  try {
    return origClose.call(this);
  } finally {
    note('duck: instance closeSync', performance.now() - t0);
  }
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const work = mkdtempSync(join(ROOT, '.bench-cycle-'));
const server = await startEmbeddedPostgres();
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(CREATE_SQL);
  process.stdout.write(`seeding ${rows.toLocaleString('en')} rows…\n`);
  await admin.query(INSERT_SQL, [1, rows]);
  await admin.query('VACUUM ANALYZE bench_events');
  mkdirSync(join(work, 'pipelines'), { recursive: true });
  writeFileSync(join(work, 'pipelines', 'bench_events.yml'), pipelineYaml(10_000, process.env.BENCH_KEY_INDEX !== 'false'));
  const env = { ...process.env, ...phaseEnv(server.url, work) };
  const settings = resolveSettings({}, env);
  const { specs } = loadPipelines([settings.pipelinesDir], env, settings.duckdbPath);
  const pipeline = resolvePipeline(specs[0], settings);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
  const log = createLogger({ level: 'warn', format: 'json' });
  const cycle = async () => {
    const [o] = await runAllOnce([pipeline], { lake, store, log }, 1);
    if (!o.ok) throw new Error(o.message);
    return o;
  };
  let t0 = performance.now();
  await cycle();
  const usage = process.resourceUsage();
  process.stdout.write(
    `bootstrap ${((performance.now() - t0) / 1000).toFixed(1)} s (this process so far: ${((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(1)} s of CPU, peak RSS ${(usage.maxRSS / 1024).toFixed(0)} MB)\n`,
  );
  await cycle(); // warm: nothing to do

  // EXPLAIN the keyset query as the next cycle will run it (from the checkpoint's position).
  const pos = store.get(pipeline.spec.name)?.position;
  if (pos) {
    const plan = await admin.query(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM bench_events WHERE (updated_at, id) > ($1::timestamptz, $2::bigint) ORDER BY updated_at, id LIMIT 10000`,
      [pos.cursor, pos.key[0]],
    );
    process.stdout.write(`keyset query plan (from the checkpoint, nothing new):\n${plan.rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}\n`);
  }

  const total: number[] = [];
  const idle: number[] = [];
  const stages = new Map<string, number[]>();
  const all = new Map<string, number[]>();
  for (let i = 0; i < cycles; i++) {
    const res = await admin.query(CHANGE_SQL, [1000]);
    await new Promise((r) => setTimeout(r, pipeline.spec.horizon.marginMs + 200));
    samples = new Map();
    t0 = performance.now();
    const o = await cycle();
    total.push(performance.now() - t0);
    if (!o.ok || o.summary.rows !== res.rowCount) throw new Error(`cycle read ${o.ok ? o.summary.rows : '?'} rows, ${res.rowCount} changed`);
    for (const [k, v] of Object.entries(o.stats.stageMs)) stages.set(k, [...(stages.get(k) ?? []), v]);
    for (const [k, v] of samples) all.set(k, [...(all.get(k) ?? []), v.reduce((a, b) => a + b, 0)]);
    samples = null;
    t0 = performance.now();
    await cycle();
    idle.push(performance.now() - t0);
  }
  process.stdout.write(`\n${rows.toLocaleString('en')} rows, ${cycles} cycles of 1,000 changed rows (median ms; per cycle, summed over its calls)\n`);
  process.stdout.write(`  cycle total ${median(total).toFixed(1)}  (${total.map((x) => x.toFixed(0)).join(', ')})\n`);
  process.stdout.write(`  idle cycle ${median(idle).toFixed(1)}  (${idle.map((x) => x.toFixed(0)).join(', ')})\n`);
  process.stdout.write(`  stages: ${[...stages].map(([k, v]) => `${k} ${median(v).toFixed(0)}`).join(', ')}\n`);
  for (const [k, v] of [...all].sort((a, b) => median(b[1]) - median(a[1]))) process.stdout.write(`  ${median(v).toFixed(1).padStart(7)}  ${k}\n`);
  store.close();
  await lake.close();
  await admin.end();
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
