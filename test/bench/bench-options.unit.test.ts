import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchOptionsFromEnv } from '../../src/bench/bench-options.js';
import { UsageError } from '../../src/errors/usage-error.js';

test('defaults: N = 1,000,000 and 3N, 2 rounds, batches 10k and 100k, JSON written, the incremental run after the default batch', () => {
  const o = benchOptionsFromEnv({}, 10_000);
  assert.deepEqual(o, {
    scale: 1_000_000,
    scales: [1_000_000, 3_000_000],
    rounds: 2,
    batchSizes: [10_000, 100_000],
    incrementalBatch: 10_000,
    jsonPath: 'bench-result.json',
    databaseUrl: null,
    changedRows: 1000,
    keyIndex: true,
    parallel: 1,
  });
});

test('the knobs: BENCH_SCALE (underscores allowed), BENCH_ROUNDS, a list in BENCH_BATCH, BENCH_JSON (empty: none)', () => {
  const o = benchOptionsFromEnv({ BENCH_SCALE: '100_000', BENCH_ROUNDS: '3', BENCH_BATCH: '50000, 5000,50000', BENCH_JSON: '' }, 10_000);
  assert.equal(o.scale, 100_000);
  assert.deepEqual(o.scales, [100_000, 300_000]);
  assert.equal(o.rounds, 3);
  assert.deepEqual(o.batchSizes, [50_000, 5_000], 'duplicates dropped, order kept');
  assert.equal(o.incrementalBatch, 50_000, 'the default batch size is not measured: the first one');
  assert.equal(o.jsonPath, null);
  assert.equal(benchOptionsFromEnv({ BENCH_JSON: 'out/b.json' }, 10_000).jsonPath, 'out/b.json');
});

test('BENCH_ROWS, the older name, still sets N; BENCH_SCALE wins', () => {
  assert.equal(benchOptionsFromEnv({ BENCH_ROWS: '20000' }, 10_000).scale, 20_000);
  assert.equal(benchOptionsFromEnv({ BENCH_ROWS: '20000', BENCH_SCALE: '30000' }, 10_000).scale, 30_000);
});

test('bad values: one usage error naming every problem, before anything starts', () => {
  assert.throws(
    () => benchOptionsFromEnv({ BENCH_SCALE: '500', BENCH_ROUNDS: '0', BENCH_BATCH: '10k,100000' }, 10_000),
    (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /BENCH_SCALE must be a whole number ≥ 1,000, got "500"/, 'fewer rows than one cycle changes');
      assert.match(err.message, /BENCH_ROUNDS must be a whole number ≥ 1, got "0"/);
      assert.match(err.message, /BENCH_BATCH must be a whole number ≥ 1, got "10k"/);
      return true;
    },
  );
  assert.throws(() => benchOptionsFromEnv({ BENCH_BATCH: ' , ' }, 10_000), /BENCH_BATCH must list one or more batch sizes/);
});

test('BENCH_KEY_INDEX: false measures a target without a PRIMARY KEY; anything but true or false is a usage error', () => {
  assert.equal(benchOptionsFromEnv({ BENCH_KEY_INDEX: 'false' }, 10_000).keyIndex, false);
  assert.equal(benchOptionsFromEnv({ BENCH_KEY_INDEX: 'TRUE' }, 10_000).keyIndex, true);
  assert.throws(() => benchOptionsFromEnv({ BENCH_KEY_INDEX: 'no' }, 10_000), /BENCH_KEY_INDEX must be true or false, got "no"/);
});

test("BENCH_PARALLEL: the pipeline's bootstrap.parallel, 1 to 16; anything else is a usage error", () => {
  assert.equal(benchOptionsFromEnv({ BENCH_PARALLEL: '2' }, 10_000).parallel, 2);
  assert.equal(benchOptionsFromEnv({ BENCH_PARALLEL: '16' }, 10_000).parallel, 16);
  assert.throws(() => benchOptionsFromEnv({ BENCH_PARALLEL: '0' }, 10_000), /BENCH_PARALLEL must be a whole number ≥ 1, got "0"/);
  assert.throws(() => benchOptionsFromEnv({ BENCH_PARALLEL: '17' }, 10_000), /BENCH_PARALLEL must be at most 16/);
  assert.throws(() => benchOptionsFromEnv({ BENCH_PARALLEL: 'two' }, 10_000), /BENCH_PARALLEL must be a whole number/);
});
