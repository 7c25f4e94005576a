/**
 * The shape of one `npm run bench` result: what it prints and what BENCH_JSON holds. Every round's
 * raw figure is kept next to its median, so a reader can see the spread.
 */

/** One measured bootstrap (pgduck or the baseline), in a process of its own. */
export interface BootstrapRound {
  ms: number;
  /** Peak resident set of the phase's own process (getrusage maxrss, KiB). */
  maxRssKb: number;
  /** Rows in the DuckDB table afterwards (checked against the source). */
  rows: number;
  /** pgduck: batches of the run; baseline: 0. */
  batches: number;
  /** CPU of the phase's own process over the measured time (user + system, every thread: DuckDB's too). */
  cpuMs?: number;
  /** CPU of the Postgres server over the same time (src/bench/postgres-cpu.ts); null when it cannot be read. */
  postgresCpuMs?: number | null;
  /** pgduck: the run's time per stage, as its log line reports it (src/runner/run-observer.ts). */
  stagesMs?: Record<string, number>;
  /** baseline: its two steps, COPY to the CSV file and DuckDB's read_csv into the table. */
  copyMs?: number;
  readCsvMs?: number;
}

export interface BootstrapSeries {
  /** null: the baseline (COPY … TO STDOUT csv → file → DuckDB read_csv). */
  batchSize: number | null;
  rounds: BootstrapRound[];
  medianMs: number;
  rowsPerSecond: number;
  medianRssMb: number;
  /** pgduck / baseline of the same round, per round, and their median (null for the baseline itself). */
  ratios: number[] | null;
  medianRatio: number | null;
}

export interface QueryTiming {
  name: string;
  sql: string;
  /** The first run after opening the file. */
  coldMs: number;
  /** Median of the runs after it. */
  warmMs: number;
}

export interface IncrementalResult {
  /** The bootstrap batch size the cycles continued from. */
  batchSize: number;
  changedRows: number;
  /** One cycle (runAllOnce, as `pgduck run` does each tick) in a process already warm, per round. */
  inProcessMs: number[];
  /** `pgduck run --once` as a new process, start to exit, per round. */
  cliMs: number[];
  medianInProcessMs: number;
  medianCliMs: number;
  /** Per in-process round: the cycle's time per stage (as its log line reports it) and its process's CPU. */
  inProcessStagesMs?: Record<string, number>[];
  inProcessCpuMs?: number[];
}

export interface ScaleResult {
  rows: number;
  baseline: BootstrapSeries;
  bootstrap: BootstrapSeries[];
  incremental: IncrementalResult;
  queries: QueryTiming[];
}

export interface ParquetColumn {
  column: string;
  /** The Postgres type of the source column. */
  sourceType: string;
  /** DESCRIBE of read_parquet on one batch file. */
  parquetType: string;
}

export interface TargetVerdict {
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryMb: number; node: string; platform: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  options: {
    scale: number;
    scales: number[];
    rounds: number;
    batchSizes: number[];
    changedRows: number;
    columns: number;
    keyIndex?: boolean;
    parallel?: number;
  };
  scales: ScaleResult[];
  parquetColumns: ParquetColumn[];
  targets: TargetVerdict[];
}

/** The median; of an even count, the mean of the middle two (of 2 rounds: their mean). */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A series from its rounds; `baselineRounds` (same round order) gives the ratios. */
export function bootstrapSeries(batchSize: number | null, rounds: BootstrapRound[], baselineRounds?: BootstrapRound[]): BootstrapSeries {
  const medianMs = median(rounds.map((r) => r.ms));
  const ratios = baselineRounds ? rounds.map((r, i) => r.ms / baselineRounds[i].ms) : null;
  return {
    batchSize,
    rounds,
    medianMs,
    rowsPerSecond: Math.round(rounds[0].rows / (medianMs / 1000)),
    medianRssMb: median(rounds.map((r) => r.maxRssKb / 1024)),
    ratios,
    medianRatio: ratios ? median(ratios) : null,
  };
}
