/**
 * What `npm run bench` measures, from its environment variables (all optional):
 *   BENCH_SCALE   N, the rows of the first table size (default 1,000,000; BENCH_ROWS is the older name);
 *                 the second size is 3N (memory and incremental cost must stay flat in table size)
 *   BENCH_ROUNDS  rounds per measurement; every figure is the median of the rounds (default 2)
 *   BENCH_BATCH   batch sizes to bootstrap with, comma-separated (default 10000,100000)
 *   BENCH_KEY_INDEX  false: the pipeline's target.key_index (no PRIMARY KEY on the DuckDB table); default true
 *   BENCH_PARALLEL  the pipeline's bootstrap.parallel, 1 to 16 (the bootstrap read as that many ranges of one snapshot); default 1
 *   BENCH_JSON    where to write the machine-readable result (default bench-result.json; empty: none)
 *   BENCH_DATABASE_URL  a Postgres (superuser) to use instead of an embedded one; the bench creates,
 *                 grows and changes a table `bench_events` in that database (never run it against data you keep)
 * Pure: parsed before anything starts, every problem reported at once.
 */
import { UsageError } from '../errors/usage-error.js';

export interface BenchOptions {
  /** N: the first table size. */
  scale: number;
  /** The table sizes measured, in order: N and 3N. */
  scales: number[];
  rounds: number;
  batchSizes: number[];
  /** The batch size whose bootstrap the incremental cycles continue from: the pipeline default when measured, else the first. */
  incrementalBatch: number;
  jsonPath: string | null;
  databaseUrl: string | null;
  /** Rows changed before each incremental cycle (the 1,000). */
  changedRows: number;
  /** The bench pipeline's `target.key_index` (BENCH_KEY_INDEX). */
  keyIndex: boolean;
  /** The bench pipeline's `bootstrap.parallel` (BENCH_PARALLEL). */
  parallel: number;
}

/** The incremental cycle: 1,000 changed rows. */
export const CHANGED_ROWS = 1000;
/** The second table size, as a multiple of N: what the memory and incremental targets compare with N. */
export const LARGE_FACTOR = 3;

const DEFAULTS = { scale: 1_000_000, rounds: 2, batchSizes: [10_000, 100_000], jsonPath: 'bench-result.json' };

function wholeNumber(name: string, raw: string, min: number, problems: string[]): number {
  const text = raw.replace(/_/g, '').trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    problems.push(`${name} must be a whole number ≥ ${min.toLocaleString('en')}, got ${JSON.stringify(raw)}`);
    return min;
  }
  return Number(text);
}

/** `defaultBatch`: the batch size a pipeline gets when its file says none (what users run). */
export function benchOptionsFromEnv(env: NodeJS.ProcessEnv, defaultBatch: number): BenchOptions {
  const problems: string[] = [];
  const scaleVar = env.BENCH_SCALE !== undefined ? 'BENCH_SCALE' : env.BENCH_ROWS !== undefined ? 'BENCH_ROWS' : null;
  // At least the changed rows: each incremental cycle changes that many distinct rows.
  const scale = scaleVar ? wholeNumber(scaleVar, env[scaleVar] ?? '', CHANGED_ROWS, problems) : DEFAULTS.scale;
  const rounds = env.BENCH_ROUNDS !== undefined ? wholeNumber('BENCH_ROUNDS', env.BENCH_ROUNDS, 1, problems) : DEFAULTS.rounds;
  let batchSizes = DEFAULTS.batchSizes;
  if (env.BENCH_BATCH !== undefined) {
    const parts = env.BENCH_BATCH.split(',').filter((p) => p.trim() !== '');
    if (parts.length === 0) problems.push(`BENCH_BATCH must list one or more batch sizes (e.g. 10000,100000), got ${JSON.stringify(env.BENCH_BATCH)}`);
    batchSizes = [...new Set(parts.map((p) => wholeNumber('BENCH_BATCH', p, 1, problems)))];
  }
  const keyIndexRaw = env.BENCH_KEY_INDEX?.trim().toLowerCase();
  if (keyIndexRaw !== undefined && keyIndexRaw !== 'true' && keyIndexRaw !== 'false')
    problems.push(`BENCH_KEY_INDEX must be true or false, got ${JSON.stringify(env.BENCH_KEY_INDEX)}`);
  let parallel = 1;
  if (env.BENCH_PARALLEL !== undefined) {
    parallel = wholeNumber('BENCH_PARALLEL', env.BENCH_PARALLEL, 1, problems);
    // The pipeline schema's bound (bootstrap.parallel): refused here, before a table is seeded, rather than by the pipeline file.
    if (parallel > 16) problems.push(`BENCH_PARALLEL must be at most 16 (bootstrap.parallel's bound), got ${JSON.stringify(env.BENCH_PARALLEL)}`);
  }
  if (problems.length > 0) throw new UsageError(`npm run bench: ${problems.join('; ')}`);
  const jsonPath = env.BENCH_JSON === undefined ? DEFAULTS.jsonPath : env.BENCH_JSON.trim() === '' ? null : env.BENCH_JSON;
  return {
    scale,
    scales: [scale, scale * LARGE_FACTOR],
    rounds,
    batchSizes,
    incrementalBatch: batchSizes.includes(defaultBatch) ? defaultBatch : batchSizes[0],
    jsonPath,
    databaseUrl: env.BENCH_DATABASE_URL?.trim() ? env.BENCH_DATABASE_URL : null,
    changedRows: CHANGED_ROWS,
    keyIndex: keyIndexRaw !== 'false',
    parallel,
  };
}
