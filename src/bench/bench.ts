/**
 * `npm run bench`: bootstrap speed and memory of one pipeline against a plain baseline, on the
 * same data, in the same process tree:
 *   pgduck     extract → Parquet → drift-check → upsert → checkpoint, batch by batch
 *   baseline   COPY (… ORDER BY updated_at, id) TO STDOUT CSV → file → DuckDB CTAS read_csv
 * Prints rows/s, peak RSS and the ratio. BENCH_ROWS (default 1,000,000), BENCH_BATCH (default 100,000).
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
import { mkdtempSync, rmSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { startEmbeddedPostgres } from '../postgres/embedded-server.js';
import { Lake, withDuckDbFile } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runPipeline } from '../runner/run-pipeline.js';
import { createLogger } from '../runner/logger.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { quoteLiteral } from '../sql/identifier.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100_000);

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

class PeakRss {
  peak = process.memoryUsage().rss;
  private timer = setInterval(() => {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }, 20);
  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, process.memoryUsage().rss);
  }
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'pgduck-bench-'));
  const server = await startEmbeddedPostgres();
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    process.stdout.write(`seeding ${ROWS.toLocaleString()} rows × 13 columns…\n`);
    for (const stmt of SCHEMA.split(';').map((s) => s.trim()).filter(Boolean)) await client.query(stmt, stmt.includes('$1') ? [ROWS] : []);

    // pgduck
    const spec: PipelineSpec = {
      name: 'bench_events', file: '(bench)',
      source: { schema: 'public', table: 'bench_events', primaryKey: ['id'], cursor: 'updated_at' },
      target: { table: 'bench_events' }, batchSize: BATCH, schedule: '* * * * *', timezone: 'UTC', enabled: true,
      schemaEvolution: 'evolve', horizon: { marginMs: 1000, lookbackSeconds: 300 },
    };
    const store = new CheckpointStore(join(work, 'state', 'checkpoints.db'));
    const lake = new Lake();
    const duckPath = join(work, 'pgduck.duckdb');
    let rss = new PeakRss();
    let t0 = performance.now();
    const summary = await runPipeline(spec, { lake, store, databaseUrl: server.url, duckdbPath: duckPath, parquetDir: join(work, 'parquet'), log: createLogger({ level: 'warn', format: 'json' }) });
    const pgduckMs = performance.now() - t0;
    const pgduckRss = rss.stop();
    await lake.close();
    store.close();
    const synced = await withDuckDbFile(duckPath, (s) => s.all('SELECT count(*)::BIGINT AS n FROM bench_events'));

    // baseline: COPY to CSV, DuckDB read_csv
    const csv = join(work, 'baseline.csv');
    rss = new PeakRss();
    t0 = performance.now();
    await pipeline(client.query(copyStreams.to('COPY (SELECT * FROM bench_events ORDER BY updated_at, id) TO STDOUT WITH (FORMAT csv, HEADER)')), createWriteStream(csv));
    const copyMs = performance.now() - t0;
    await withDuckDbFile(join(work, 'baseline.duckdb'), (s) => s.run(`CREATE TABLE bench_events AS SELECT * FROM read_csv(${quoteLiteral(csv)})`));
    const baseMs = performance.now() - t0;
    const baseRss = rss.stop();
    await client.end();

    const rate = (ms: number) => Math.round(ROWS / (ms / 1000)).toLocaleString();
    const lines = [
      '',
      `rows: ${ROWS.toLocaleString()} × 13 columns; batch ${BATCH.toLocaleString()}; synced ${String(synced[0].n)}`,
      `pgduck bootstrap : ${(pgduckMs / 1000).toFixed(2)} s  ${rate(pgduckMs)} rows/s  peak RSS ${mb(pgduckRss)}  (${summary.batches} batches)`,
      `COPY csv + read_csv: ${(baseMs / 1000).toFixed(2)} s  ${rate(baseMs)} rows/s  peak RSS ${mb(baseRss)}  (COPY alone ${(copyMs / 1000).toFixed(2)} s, csv ${mb(statSync(csv).size)})`,
      `ratio pgduck / baseline: ${(pgduckMs / baseMs).toFixed(2)}× the time`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
