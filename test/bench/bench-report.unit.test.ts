import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapSeries } from '../../src/bench/bench-result.js';
import { breakdown } from '../../src/bench/bench-report.js';

const round = (ms: number, extra: object) => ({ ms, maxRssKb: 200_000, rows: 1_000_000, batches: 100, ...extra });

test('a bootstrap line gives its stages, its CPU and Postgres CPU as medians of the rounds, and the cores they kept busy', () => {
  const baseline = bootstrapSeries(null, [
    round(6000, { cpuMs: 4000, postgresCpuMs: 2000, copyMs: 2500, readCsvMs: 3500 }),
    round(5000, { cpuMs: 3000, postgresCpuMs: 1000, copyMs: 2000, readCsvMs: 3000 }),
  ]);
  assert.equal(
    breakdown(baseline),
    'COPY csv + read_csv     5.50 s: COPY to file 2.25 s, read_csv 3.25 s; CPU 3.50 s process + 1.50 s Postgres = 5.00 s, 0.91 cores busy',
  );
  const ours = bootstrapSeries(10_000, [
    round(10_000, { cpuMs: 15_000, postgresCpuMs: 3000, stagesMs: { read: 1000, parquet: 3000, upsert: 5000 } }),
    round(8000, { cpuMs: 13_000, postgresCpuMs: 3000, stagesMs: { read: 2000, parquet: 2000, upsert: 3000, checkpoint: 400 } }),
  ]);
  assert.equal(
    breakdown(ours),
    'pgduck, batch 10,000    9.00 s: read 1.50, parquet 2.50, upsert 4.00, checkpoint 0.20 s; CPU 14.00 s process + 3.00 s Postgres = 17.00 s, 1.89 cores busy',
  );
});

test('without Postgres CPU (a server elsewhere) or CPU at all (a result file of an older bench), the line says what it has', () => {
  const remote = bootstrapSeries(10_000, [round(9000, { cpuMs: 12_000, postgresCpuMs: null })]);
  assert.equal(breakdown(remote), 'pgduck, batch 10,000    9.00 s: CPU 12.00 s process');
  assert.equal(breakdown(bootstrapSeries(10_000, [round(9000, {})])), 'pgduck, batch 10,000    9.00 s');
});
