/**
 * `npx tsx scripts/bench-duck-batch.ts [rows] [rounds]`: where the DuckDB side of a bootstrap's batches
 * goes, in DuckDB alone. Seeds `bench_events` (src/bench/bench-table.ts) with `rows` rows (default
 * 1,000,000) in an embedded Postgres and bootstraps it in-process at batch_size 10,000, keeping a copy
 * of every batch CSV and the statements the run gave DuckDB (the drivers' prototypes are wrapped for
 * this script only). Then, per round and in alternation, replays those CSVs through DuckDB with
 * nothing else running, timing wall and process CPU per statement kind:
 *
 *   today      the run's statements: COPY (typed SELECT FROM read_csv) TO zstd Parquet, fsync, rename;
 *              in one transaction per 13 batches, DELETE USING and INSERT FROM read_parquet; DETACH
 *   staged     the typed SELECT into a table of a fresh in-memory database per batch (ATTACH ':memory:'
 *              under a name never used before: the open transaction only sees catalogs it first reads
 *              after their table exists, test/runner/row-group-visibility.test.ts), COPY that table to
 *              the Parquet file, DELETE and INSERT from it, DETACH it
 *   parts      the pieces on their own: read_csv (every column VARCHAR) into a table; the typed SELECT
 *              into a table; that table written as Parquet per codec; the zstd file read into a table
 *   reference  the reference's DuckDB side: all CSVs as one file, read_csv into a table in one statement
 *
 * A printed measurement, not a test. The machine's load average is printed with each line: on shared
 * cores, compare CPU before wall.
 */
import pg from 'pg';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/postgres/embedded-server.js';
import { CREATE_SQL, INSERT_SQL, pipelineYaml } from '../src/bench/bench-table.js';
import { phaseEnv } from '../src/bench/bench-phase.js';
import { resolveSettings, checkpointDbPath } from '../src/runner/settings.js';
import { loadPipelines } from '../src/config/load-pipelines.js';
import { resolvePipeline } from '../src/config/resolved-pipeline.js';
import { CheckpointStore } from '../src/state/checkpoint-store.js';
import { Lake } from '../src/duckdb/lake.js';
import { createLogger } from '../src/log/logger.js';
import { runAllOnce } from '../src/runner/pool.js';
import { fsyncAndRename } from '../src/parquet/durable-file.js';
import { GROUP_ROWS } from '../src/runner/row-group.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 2);
const BATCH = 10_000;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const work = mkdtempSync(join(ROOT, '.bench-cycle-duck-'));
const csvDir = join(work, 'csv');
mkdirSync(csvDir);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// ---- 1. the run's batches and statements ----
const statements: string[] = [];
const originals = { run: DuckDBConnection.prototype.run, runAndReadAll: DuckDBConnection.prototype.runAndReadAll };
for (const method of ['run', 'runAndReadAll'] as const) {
  const orig = originals[method] as (...a: unknown[]) => Promise<unknown>;
  (DuckDBConnection.prototype as unknown as Record<string, unknown>)[method] = async function (this: DuckDBConnection, sql: string, ...rest: unknown[]) {
    const csv = /^COPY \(SELECT[\s\S]*?read_csv\('([^']+)'/.exec(sql)?.[1];
    if (csv) copyFileSync(csv, join(csvDir, `${String(statements.length).padStart(6, '0')}.csv`));
    statements.push(sql);
    return orig.call(this, sql, ...rest);
  };
}
const server = await startEmbeddedPostgres();
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(CREATE_SQL);
  await admin.query(INSERT_SQL, [1, rows]);
  await admin.query('VACUUM ANALYZE bench_events');
  const run = join(work, 'run');
  mkdirSync(join(run, 'pipelines'), { recursive: true });
  writeFileSync(join(run, 'pipelines', 'bench_events.yml'), pipelineYaml(BATCH));
  const env = { ...process.env, ...phaseEnv(server.url, run) };
  const settings = resolveSettings({}, env);
  const { specs } = loadPipelines([settings.pipelinesDir], env, settings.duckdbPath);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
  const [o] = await runAllOnce([resolvePipeline(specs[0], settings)], { lake, store, log: createLogger({ level: 'warn', format: 'json' }) }, 1);
  if (!o.ok) throw new Error(o.message);
  store.close();
  await lake.close();
  await admin.end();
} finally {
  await server.stop();
}
Object.assign(DuckDBConnection.prototype, originals);

// ---- 2. DuckDB alone ----
const find = (re: RegExp) => {
  const s = statements.find((x) => re.test(x));
  if (!s) throw new Error(`no statement like ${re}`);
  return s.replace(/"lake_[0-9a-f]+"/g, 'lake');
};
const copySql = find(/^COPY \(SELECT/);
const typedSelect = copySql.slice('COPY ('.length, copySql.indexOf('\nTO ') - 1);
const kvMetadata = copySql.slice(copySql.indexOf('KV_METADATA'), copySql.lastIndexOf(')'));
const createTarget = find(/^CREATE TABLE IF NOT EXISTS/);
const deleteSql = find(/^DELETE FROM/);
const insertSql = find(/^INSERT INTO/);
const csvs = readdirSync(csvDir)
  .sort()
  .map((f) => join(csvDir, f));
const selectFrom = (csv: string) =>
  typedSelect.replace(/read_csv\('[^']+'/, `read_csv('${csv}'`).replace(/max_line_size = \d+, buffer_size = \d+/g, () => {
    const n = Math.max(statSync(csv).size + 1, 2 << 20);
    return `max_line_size = ${n}, buffer_size = ${n}`;
  });
const fromFile = (sql: string, source: string) => sql.replace(/read_parquet\('[^']+'\)/, source);
const perGroup = Math.ceil(GROUP_ROWS / BATCH);

type Times = Map<string, { wall: number; cpu: number }>;
async function variant(name: string, body: (timed: <T>(k: string, f: () => Promise<T>) => Promise<T>, dir: string) => Promise<void>) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const times: Times = new Map();
  const timed = async <T>(k: string, f: () => Promise<T>): Promise<T> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      const c = process.cpuUsage(c0);
      const e = times.get(k) ?? { wall: 0, cpu: 0 };
      e.wall += performance.now() - t0;
      e.cpu += (c.user + c.system) / 1000;
      times.set(k, e);
    }
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body(timed, dir);
  const c = process.cpuUsage(c0);
  const line = `${name}: ${(performance.now() - t0).toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU (load ${load()})`;
  const parts = [...times].map(([k, v]) => `    ${k.padEnd(26)} ${v.wall.toFixed(0).padStart(7)} wall ${v.cpu.toFixed(0).padStart(7)} CPU`);
  process.stdout.write(`${line}\n${parts.join('\n')}\n`);
  appendFileSync(join(ROOT, '.bench-duck-batch.log'), `${line}\n${parts.join('\n')}\n`);
  rmSync(dir, { recursive: true, force: true });
}

async function withInstance(dir: string, fn: (inst: DuckDBInstance, s: DuckDBConnection) => Promise<void>) {
  const inst = await DuckDBInstance.create(':memory:');
  const s = await inst.connect();
  await s.run(`SET GLOBAL disabled_compression_methods = 'rle'`);
  await s.run(`SET GLOBAL enable_external_file_cache = false`);
  await s.run(`ATTACH '${join(dir, 'lake.duckdb')}' AS lake`);
  await s.run(createTarget);
  try {
    await fn(inst, s);
  } finally {
    s.closeSync();
    inst.closeSync();
  }
}

/** The run's shape: per batch stage(csv) → statements in the open transaction; COMMIT per row group; DETACH. */
async function batches(
  timed: <T>(k: string, f: () => Promise<T>) => Promise<T>,
  dir: string,
  perBatch: (csv: string, parquet: string, s: DuckDBConnection, tx: DuckDBConnection) => Promise<void>,
) {
  await withInstance(dir, async (inst, s) => {
    let tx: DuckDBConnection | null = null;
    let n = 0;
    const commit = async () => {
      const t = tx;
      if (!t) return;
      tx = null;
      await timed('COMMIT', () => t.run('COMMIT'));
      t.closeSync();
    };
    for (const [i, csv] of csvs.entries()) {
      if (!tx) {
        tx = await inst.connect();
        await tx.run('BEGIN TRANSACTION');
      }
      await perBatch(csv, join(dir, `${i}.parquet`), s, tx);
      if (++n % perGroup === 0) await commit();
    }
    await commit();
    await timed('DETACH (checkpoint)', () => s.run('DETACH lake'));
  });
}

const today = () =>
  variant('today', (timed, dir) =>
    batches(timed, dir, async (csv, file, s, tx) => {
      await timed('COPY typed CSV → Parquet', () => s.run(`COPY (${selectFrom(csv)}) TO '${file}.tmp' (FORMAT parquet, COMPRESSION zstd, ${kvMetadata})`));
      await timed('fsync + rename', async () => fsyncAndRename(`${file}.tmp`, file));
      await timed('DELETE (keys of the file)', () => tx.run(fromFile(deleteSql, `read_parquet('${file}')`)));
      await timed('INSERT (read_parquet)', () => tx.run(fromFile(insertSql, `read_parquet('${file}')`)));
    }),
  );
let staging = 0;
const staged = () =>
  variant('staged', (timed, dir) =>
    batches(timed, dir, async (csv, file, s, tx) => {
      const db = `pgduck_stage_${++staging}`;
      await timed('ATTACH + DETACH :memory:', () => s.run(`ATTACH ':memory:' AS ${db}`));
      await timed('CREATE TABLE AS typed', () => s.run(`CREATE TABLE ${db}.main.b AS ${selectFrom(csv)}`));
      await timed('COPY table → Parquet', () => s.run(`COPY ${db}.main.b TO '${file}.tmp' (FORMAT parquet, COMPRESSION zstd, ${kvMetadata})`));
      await timed('fsync + rename', async () => fsyncAndRename(`${file}.tmp`, file));
      await timed('DELETE (keys of the table)', () => tx.run(fromFile(deleteSql, `${db}.main.b`)));
      await timed('INSERT (the table)', () => tx.run(fromFile(insertSql, `${db}.main.b`)));
      await timed('ATTACH + DETACH :memory:', () => s.run(`DETACH ${db}`));
    }),
  );
const parts = () =>
  variant('parts', (timed, dir) =>
    withInstance(dir, async (_inst, s) => {
      for (const [i, csv] of csvs.entries()) {
        const select = selectFrom(csv);
        const raw = `SELECT * FROM ${select.slice(select.indexOf('read_csv('))}`;
        await timed('read_csv VARCHAR → table', () => s.run(`CREATE OR REPLACE TABLE memory.main.b AS ${raw}`));
        await timed('typed SELECT → table', () => s.run(`CREATE OR REPLACE TABLE memory.main.b AS ${select}`));
        for (const codec of ['zstd', 'uncompressed', 'snappy']) {
          const f = join(dir, `${i}.${codec}.parquet`);
          await timed(`table → Parquet ${codec}`, () => s.run(`COPY memory.main.b TO '${f}' (FORMAT parquet, COMPRESSION ${codec}, ${kvMetadata})`));
          await timed(`Parquet ${codec} → table`, () => s.run(`CREATE OR REPLACE TABLE memory.main.r AS SELECT * FROM read_parquet('${f}')`));
          rmSync(f);
        }
      }
    }),
  );
const reference = () =>
  variant('reference', async (timed, dir) => {
    const all = join(dir, 'all.csv');
    for (const csv of csvs) appendFileSync(all, readFileSync(csv));
    await withInstance(dir, async (_inst, s) => {
      const select = selectFrom(all).replace(/max_line_size = \d+, buffer_size = \d+/g, 'max_line_size = 2097152');
      await timed('read_csv VARCHAR → lake table', () => s.run(`CREATE TABLE lake.main.ref AS SELECT * FROM ${select.slice(select.indexOf('read_csv('))}`));
      await timed('DETACH (checkpoint)', () => s.run('DETACH lake'));
    });
  });

process.stdout.write(`${csvs.length} batch CSVs of ${BATCH.toLocaleString('en')} rows; ${rounds} rounds, alternated\n`);
try {
  for (let r = 0; r < rounds; r++) for (const v of r % 2 ? [staged, today, parts, reference] : [today, staged, parts, reference]) await v();
} finally {
  rmSync(work, { recursive: true, force: true });
}
