/**
 * From a review, a seeded fuzz: sequences of source changes, runs, reconciles, repairs, resets and prunes; the
 * history must rebuild the synced table. FUZZ_SEEDS=a-b picks seeds (1-2 in the suite; 1-90 passed when
 * its four defects were fixed, test/replay/*-reset*.test.ts, monotonic-deletes-vs-reread.test.ts), FUZZ_LEN the
 * sequence length, FUZZ_DEBUG=1 lists the history of a failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { runSequence } from '../support/history-fuzz.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const [lo, hi] = (process.env.FUZZ_SEEDS ?? '1-2').split('-').map(Number);
const len = Number(process.env.FUZZ_LEN ?? 14);

test(`seeds ${lo}…${hi}: replay rebuilds the synced table`, async () => {
  const failures: string[] = [];
  for (let seed = lo; seed <= hi; seed++) {
    const t0 = Date.now();
    const o = await runSequence(pgs, seed, len);
    const line = `seed ${seed} ${JSON.stringify(o.settings)} (${Date.now() - t0} ms): ${o.problems.length === 0 ? 'ok' : 'FAIL'}\n  ops: ${o.ops.join('; ')}\n${o.problems.map((p) => `  ! ${p}`).join('\n')}`;
    process.stderr.write(`${line}\n`);
    if (o.problems.length > 0) failures.push(line);
  }
  assert.deepEqual(failures, []);
});
