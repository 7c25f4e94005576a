/**
 * The measured work of `npm run bench`, each run in a child process of its own (bench.ts starts it
 * with `--phase`), so that its peak RSS is its own and nothing the parent loaded counts:
 *   bootstrap    `pgduck run --once` in-process on an empty target: the whole table, batch by batch
 *   baseline     COPY (… ORDER BY updated_at, id) TO STDOUT csv → file → DuckDB CTAS read_csv
 *   incremental  one warm-up cycle (with changed rows), then per round: change rows, one timed cycle (as `pgduck run` ticks)
 * Time is taken after the modules are loaded: process start is measured by the CLI rounds instead.
 */
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { copyQueryToFile } from '../postgres/copy-to-file.js';
import { connectPostgres } from '../postgres/connect.js';
import { Lake, withDuckDbFile } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runAllOnce } from '../runner/pool.js';
import { resolveSettings, checkpointDbPath } from '../runner/settings.js';
import { loadPipelines } from '../config/load-pipelines.js';
import { resolvePipeline } from '../config/resolved-pipeline.js';
import { createLogger } from '../log/logger.js';
import { quoteLiteral } from '../sql/identifier.js';
import type { BootstrapRound } from './bench-result.js';
import { CHANGE_SQL } from './bench-table.js';

export type PhaseName = 'bootstrap' | 'baseline' | 'incremental';

export interface PhaseArgs {
  url: string;
  /** The phase's directory: pipelines/, lake.duckdb, parquet/, state/ (bootstrap, incremental), baseline files. */
  dir: string;
  /** incremental: the rounds and the rows changed before each. */
  rounds?: number;
  changedRows?: number;
}

export interface IncrementalPhaseResult {
  ms: number[];
  /** Per round: the cycle's time per stage, and the process's CPU during it. */
  stagesMs: Record<string, number>[];
  cpuMs: number[];
  /** The pipeline's commit-safe margin: a change is waited on this long before a cycle reads it. */
  marginMs: number;
  rows: number[];
}

/** The environment `pgduck` gets for a phase directory: also what the CLI rounds run with. */
export function phaseEnv(url: string, dir: string): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: url,
    PIPELINES_DIR: join(dir, 'pipelines'),
    DUCKDB_PATH: join(dir, 'lake.duckdb'),
    PARQUET_DIR: join(dir, 'parquet'),
    STATE_DIR: join(dir, 'state'),
  };
}

/** Change `count` rows (CHANGE_SQL), then wait out the commit-safe margin so the next cycle reads them all. */
export async function changeRows(url: string, count: number, marginMs: number): Promise<number> {
  const client = await connectPostgres(url, { label: 'bench' });
  try {
    const res = await client.query(CHANGE_SQL, [count]);
    await new Promise((r) => setTimeout(r, marginMs + 200));
    return res.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

function openPipeline(args: PhaseArgs) {
  // The user's PGDUCK_DUCKDB_MEMORY_LIMIT and PGDUCK_CONCURRENCY apply, as they would to the CLI.
  const env = { ...process.env, ...phaseEnv(args.url, args.dir) };
  const settings = resolveSettings({}, env);
  const { specs, problems } = loadPipelines([settings.pipelinesDir], env, settings.duckdbPath);
  if (problems.length > 0 || specs.length !== 1) throw new Error(`bench pipeline file invalid: ${problems.map((p) => p.message).join('; ')}`);
  const pipeline = resolvePipeline(specs[0], settings);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
  const log = createLogger({ level: 'warn', format: 'json' });
  const cycle = async () => {
    const [o] = await runAllOnce([pipeline], { lake, store, log }, settings.concurrency);
    if (!o.ok) throw new Error(`bench pipeline failed: ${o.message}`);
    return { summary: o.summary, stagesMs: o.stats.stageMs };
  };
  return { pipeline, store, cycle };
}

/** This process's CPU so far (user + system, all threads), in milliseconds. */
function cpuMs(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1000;
}

async function countRows(duckPath: string): Promise<number> {
  const n = await withDuckDbFile(duckPath, (s) => s.all('SELECT count(*)::BIGINT AS n FROM bench_events'));
  return Number(n[0].n);
}

export async function runPhase(name: PhaseName, args: PhaseArgs): Promise<BootstrapRound | IncrementalPhaseResult> {
  if (name === 'bootstrap') {
    const { store, cycle } = openPipeline(args);
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const { summary, stagesMs } = await cycle();
    const ms = performance.now() - t0;
    const cpu = cpuMs() - cpu0;
    store.close();
    return {
      ms,
      maxRssKb: process.resourceUsage().maxRSS,
      rows: await countRows(phaseEnv(args.url, args.dir).DUCKDB_PATH ?? ''),
      batches: summary.batches,
      cpuMs: cpu,
      stagesMs,
    };
  }
  if (name === 'incremental') {
    const { pipeline, store, cycle } = openPipeline(args);
    // A service's cycles run in a warm process: the first one pays for compiling the code paths and
    // loading DuckDB. It writes rows: a cycle with nothing to do no longer opens the DuckDB file.
    await changeRows(args.url, args.changedRows ?? 0, pipeline.spec.horizon.marginMs);
    await cycle();
    const result: IncrementalPhaseResult = { ms: [], rows: [], stagesMs: [], cpuMs: [], marginMs: pipeline.spec.horizon.marginMs };
    for (let i = 0; i < (args.rounds ?? 1); i++) {
      const changed = await changeRows(args.url, args.changedRows ?? 0, pipeline.spec.horizon.marginMs);
      const cpu0 = cpuMs();
      const t0 = performance.now();
      const { summary, stagesMs } = await cycle();
      result.ms.push(performance.now() - t0);
      result.cpuMs.push(cpuMs() - cpu0);
      result.stagesMs.push(stagesMs);
      if (summary.rows !== changed) throw new Error(`incremental cycle read ${summary.rows} rows, ${changed} were changed`);
      result.rows.push(summary.rows);
    }
    store.close();
    return result;
  }
  const csv = join(args.dir, 'baseline.csv');
  const duckPath = join(args.dir, 'baseline.duckdb');
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await copyQueryToFile(args.url, 'SELECT * FROM bench_events ORDER BY updated_at, id', csv);
  const t1 = performance.now();
  await withDuckDbFile(duckPath, (s) => s.run(`CREATE TABLE bench_events AS SELECT * FROM read_csv(${quoteLiteral(csv)})`));
  const t2 = performance.now();
  const cpu = cpuMs() - cpu0;
  if (statSync(csv).size === 0) throw new Error('baseline COPY wrote nothing');
  return {
    ms: t2 - t0,
    maxRssKb: process.resourceUsage().maxRSS,
    rows: await countRows(duckPath),
    batches: 0,
    cpuMs: cpu,
    copyMs: t1 - t0,
    readCsvMs: t2 - t1,
  };
}
