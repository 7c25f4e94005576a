import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapSeries, median, type BootstrapRound, type ScaleResult } from '../../src/bench/bench-result.js';
import { judgeTargets, untypedColumns } from '../../src/bench/bench-targets.js';

test('median: the middle value; of two rounds, their mean', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([10, 20]), 15);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /median of no values/);
});

const round = (ms: number, rssMb: number, rows = 1000): BootstrapRound => ({ ms, maxRssKb: rssMb * 1024, rows, batches: 1 });

test('a series: median time and RSS, rows/s from the median time, ratios per round against the same round of the baseline', () => {
  const base = [round(1000, 100), round(3000, 120)];
  const s = bootstrapSeries(10_000, [round(1500, 200), round(3000, 220)], base);
  assert.equal(s.medianMs, 2250);
  assert.equal(s.rowsPerSecond, 444);
  assert.equal(s.medianRssMb, 210);
  assert.deepEqual(s.ratios, [1.5, 1]);
  assert.equal(s.medianRatio, 1.25);
  assert.equal(bootstrapSeries(null, base).medianRatio, null);
});

function scale(rows: number, p: { ratio: number; rssMb: number; incMs: number; cliMs: number; queryMs: number }): ScaleResult {
  const base = [round(1000, 150, rows), round(1000, 150, rows)];
  return {
    rows,
    baseline: bootstrapSeries(null, base),
    bootstrap: [10_000, 100_000].map((b) => bootstrapSeries(b, [round(1000 * p.ratio, p.rssMb, rows), round(1000 * p.ratio, p.rssMb, rows)], base)),
    incremental: { batchSize: 10_000, changedRows: 1000, inProcessMs: [p.incMs], cliMs: [p.cliMs], medianInProcessMs: p.incMs, medianCliMs: p.cliMs },
    queries: [{ name: 'grouped count and sum', sql: 'SELECT 1', coldMs: 30, warmMs: p.queryMs }],
  };
}

test('every target met: one verdict per target and per batch size, absolute ones judged at N, growth ones 3N against N', () => {
  const verdicts = judgeTargets({
    scales: [
      scale(1_000_000, { ratio: 1.1, rssMb: 200, incMs: 80, cliMs: 600, queryMs: 9 }),
      scale(3_000_000, { ratio: 5, rssMb: 216, incMs: 100, cliMs: 900, queryMs: 90 }),
    ],
    parquetColumns: [
      { column: 'amount', sourceType: 'numeric', parquetType: 'DECIMAL(12,2)' },
      { column: 'kind', sourceType: 'text', parquetType: 'VARCHAR' },
      { column: 'payload', sourceType: 'jsonb', parquetType: 'VARCHAR' },
    ],
  });
  assert.deepEqual(
    verdicts.map((v) => [v.target, v.measured, v.met]),
    [
      ['bootstrap ≤ 1.2× the reference, batch 10,000', '1.10× at 1,000,000 rows', true],
      ['bootstrap ≤ 1.2× the reference, batch 100,000', '1.10× at 1,000,000 rows', true],
      ['peak RSS ≤ 250 MB, batch 10,000', '200 MB at 1,000,000 rows', true],
      ['peak RSS ≤ 250 MB, batch 100,000', '200 MB at 1,000,000 rows', true],
      ['peak RSS at 3,000,000 rows within 10% of 1,000,000, batch 10,000', '216 MB vs 200 MB (+8%)', true],
      ['peak RSS at 3,000,000 rows within 10% of 1,000,000, batch 100,000', '216 MB vs 200 MB (+8%)', true],
      ['incremental cycle (1,000 rows) ≤ 100 ms in-process', '80 ms at 1,000,000 rows', true],
      ['incremental cycle at 3,000,000 rows within 30% of 1,000,000', '100 ms vs 80 ms (+25%)', true],
      ['incremental cycle as a CLI process ≤ 0.7 s', '0.60 s at 1,000,000 rows', true],
      ['query "grouped count and sum" ≤ 50 ms warm', '9.0 ms at 1,000,000 rows', true],
      ['Parquet batch files typed (text only where the source is text or json)', '3 of 3 columns typed', true],
    ],
  );
});

test('targets missed: each says so with its measurement', () => {
  const verdicts = judgeTargets({
    scales: [
      scale(1_000_000, { ratio: 3.5, rssMb: 260, incMs: 250, cliMs: 800, queryMs: 60 }),
      scale(3_000_000, { ratio: 3.5, rssMb: 300, incMs: 400, cliMs: 900, queryMs: 60 }),
    ],
    parquetColumns: [
      { column: 'day', sourceType: 'date', parquetType: 'VARCHAR' },
      { column: 'kind', sourceType: 'text', parquetType: 'VARCHAR' },
    ],
  });
  assert.ok(verdicts.every((v) => !v.met));
  assert.equal(verdicts.find((v) => v.target.startsWith('peak RSS at'))?.measured, '300 MB vs 260 MB (+15%)');
  assert.equal(verdicts.at(-1)?.measured, '1 of 2 columns typed; as text: day (date)');
});

test('untyped columns: VARCHAR where the source has a typed form; text and json sources may stay text', () => {
  assert.deepEqual(
    untypedColumns([
      { column: 'a', sourceType: 'character varying', parquetType: 'VARCHAR' },
      { column: 'b', sourceType: 'json', parquetType: 'VARCHAR' },
      { column: 'c', sourceType: 'ARRAY', parquetType: 'VARCHAR' },
      { column: 'd', sourceType: 'uuid', parquetType: 'UUID' },
    ]).map((c) => c.column),
    ['c'],
  );
});
