/**
 * `npm run bench`: bootstrap speed and memory of one pipeline against a plain baseline, on the
 * same data, in the same process tree:
 *   pgduck     extract → Parquet → drift-check → upsert → checkpoint, batch by batch
 *   baseline   COPY (… ORDER BY updated_at, id) TO STDOUT CSV → file → DuckDB CTAS read_csv
 * Prints rows/s, peak RSS and the ratio. BENCH_ROWS (default 1,000,000), BENCH_BATCH (default: a pipeline's default batch_size).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { copyQueryToFile, runStatements } from '../postgres/copy-to-file.js';
import { PipelineFileSchema } from '../config/pipeline-schema.js';
import { startEmbeddedPostgres } from '../postgres/embedded-server.js';
import { Lake, withDuckDbFile } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runPipeline } from '../runner/run-pipeline.js';
import { resolvePipeline } from '../config/resolved-pipeline.js';
import { compilePipeline } from '../runner/compile.js';
import { createLogger } from '../log/logger.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { quoteLiteral } from '../sql/identifier.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
// The batch size a pipeline gets when its file says nothing: what users run.
const BATCH = Number(process.env.BENCH_BATCH ?? (PipelineFileSchema.properties.batch_size.default as number));

// 13 columns, the mix of a typical SaaS table.
const SCHEMA = `
CREATE TABLE bench_events (
  id bigint PRIMARY KEY, account_id bigint NOT NULL, kind text NOT NULL, amount numeric(12,2),
  qty integer, ratio double precision, ok boolean, ext uuid, payload jsonb, tags text[],
  day date, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
INSERT INTO bench_events
SELECT g, g % 5000, (ARRAY['click','view','buy','refund'])[1 + g % 4], (g % 100000) / 100.0,
       g % 1000, g / 7.0, g % 3 = 0, md5(g::text)::uuid, jsonb_build_object('n', g, 's', 'x' || g),
       ARRAY['t' || (g % 10), 'u'], DATE '2025-01-01' + (g % 365),
       TIMESTAMPTZ '2025-01-01' + g * interval '1 millisecond',
       TIMESTAMPTZ '2025-01-01' + (g / 3) * interval '3 microsecond'
FROM generate_series(1, $1::int) g;
CREATE INDEX ON bench_events (updated_at, id);
ANALYZE bench_events;
`;

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

interface PhaseResult {
  ms: number;
  /** Peak resident set of the phase's own process (getrusage maxrss, KiB). */
  maxRssKb: number;
  rows: number;
  detail: string;
}

/** One measured phase, in its own child process so peak memory is its own. */
async function phase(name: 'pgduck' | 'baseline', url: string, work: string): Promise<PhaseResult> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    // Both phases start as `pgduck` does: process-tuning.cjs runs before anything loads (an ESM module is too late).
    const tuning = fileURLToPath(new URL('../../bin/process-tuning.cjs', import.meta.url));
    // …and with the glibc arena limit the `pgduck` launcher's shell line sets (bin/pgduck.cjs), unless given.
    const env = { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
    const child = spawn(process.execPath, ['--require', tuning, fileURLToPath(import.meta.url), '--phase', name, url, work], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PhaseResult) : reject(new Error(`${name} phase exited ${code}`))));
  });
}

async function runPhase(name: string, url: string, work: string): Promise<PhaseResult> {
  if (name === 'pgduck') {
    const spec: PipelineSpec = {
      name: 'bench_events',
      file: '(bench)',
      source: {
        schema: 'public',
        table: 'bench_events',
        primaryKey: ['id'],
        cursor: 'updated_at',
        softDeleteMode: 'keep',
        nullCursor: 'include',
        onRecreate: 'stop',
        hardDeleteMode: 'remove',
      },
      target: { schema: 'main', table: 'bench_events' },
      batchSize: BATCH,
      schedule: '* * * * *',
      timezone: 'UTC',
      enabled: true,
      schemaEvolution: 'evolve',
      horizon: { marginMs: 1000, lookbackSeconds: 300 },
    };
    const store = new CheckpointStore(join(work, 'state', 'checkpoints.db'));
    const lake = new Lake();
    const duckPath = join(work, 'pgduck.duckdb');
    const parquetDir = join(work, 'parquet');
    const plan = compilePipeline(resolvePipeline(spec, { databaseUrl: url, duckdbPath: duckPath, parquetDir }));
    const t0 = performance.now();
    const summary = await runPipeline(plan, { lake, store, log: createLogger({ level: 'warn', format: 'json' }) });
    const ms = performance.now() - t0;
    await lake.close();
    store.close();
    const n = await withDuckDbFile(duckPath, (s) => s.all('SELECT count(*)::BIGINT AS n FROM bench_events'));
    return { ms, maxRssKb: process.resourceUsage().maxRSS, rows: Number(n[0].n), detail: `${summary.batches} batches` };
  }
  const csv = join(work, 'baseline.csv');
  const t0 = performance.now();
  await copyQueryToFile(url, 'SELECT * FROM bench_events ORDER BY updated_at, id', csv);
  const copyMs = performance.now() - t0;
  const duckPath = join(work, 'baseline.duckdb');
  await withDuckDbFile(duckPath, (s) => s.run(`CREATE TABLE bench_events AS SELECT * FROM read_csv(${quoteLiteral(csv)})`));
  const ms = performance.now() - t0;
  const n = await withDuckDbFile(duckPath, (s) => s.all('SELECT count(*)::BIGINT AS n FROM bench_events'));
  return {
    ms,
    maxRssKb: process.resourceUsage().maxRSS,
    rows: Number(n[0].n),
    detail: `COPY alone ${(copyMs / 1000).toFixed(2)} s, csv ${(statSync(csv).size / 1048576).toFixed(0)} MB`,
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'pgduck-bench-'));
  const server = await startEmbeddedPostgres();
  try {
    process.stdout.write(`seeding ${ROWS.toLocaleString()} rows × 13 columns…\n`);
    const statements = SCHEMA.split(';')
      .map((s) => s.trim())
      .filter(Boolean);
    await runStatements(
      server.url,
      statements.map((text) => ({ text, values: text.includes('$1') ? [ROWS] : [] })),
    );

    const ours = await phase('pgduck', server.url, work);
    const base = await phase('baseline', server.url, work);
    const rate = (r: PhaseResult) => Math.round(r.rows / (r.ms / 1000)).toLocaleString();
    const lines = [
      '',
      `rows: ${ROWS.toLocaleString()} × 13 columns; pgduck batch size ${BATCH.toLocaleString()}`,
      `pgduck bootstrap    : ${(ours.ms / 1000).toFixed(2)} s  ${rate(ours)} rows/s  peak RSS ${mb(ours.maxRssKb)}  (${ours.rows.toLocaleString()} rows, ${ours.detail})`,
      `COPY csv + read_csv : ${(base.ms / 1000).toFixed(2)} s  ${rate(base)} rows/s  peak RSS ${mb(base.maxRssKb)}  (${base.rows.toLocaleString()} rows, ${base.detail})`,
      `ratio pgduck / baseline: ${(ours.ms / base.ms).toFixed(2)}× the time`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (ours.rows !== ROWS || base.rows !== ROWS) throw new Error(`row counts differ: pgduck ${ours.rows}, baseline ${base.rows}, source ${ROWS}`);
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--phase') {
  const [, , , name, url, work] = process.argv;
  process.stdout.write(JSON.stringify(await runPhase(name, url, work)));
} else {
  await main();
}
