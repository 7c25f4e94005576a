/**
 * The Stage contract as data, checked without a database: every BatchState field a step reads is
 * written by an earlier step of the plan (or set by the runner when the batch is made), and the
 * next batch is read only once the rest of the current one leaves Postgres alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAGE_ORDER, STAGES } from '../../src/stages/registry.js';
import { readAhead } from '../../src/runner/read-ahead.js';
import type { BatchState } from '../../src/stages/stage.js';

test('each step reads only what an earlier step (or the runner: seq, phase, from, afterKey, and the outcome of parquet-ahead) wrote', () => {
  const written = new Set<keyof BatchState>(['seq', 'phase', 'from', 'afterKey', 'parquetAhead']);
  for (const name of STAGE_ORDER) {
    const stage = STAGES[name];
    assert.equal(stage.name, name);
    for (const field of stage.reads) assert.ok(written.has(field), `${name} reads ${field}, which no earlier step writes`);
    for (const field of stage.writes) written.add(field);
  }
});

test('read-ahead starts the next read before the first step of the trailing run that never touches Postgres', () => {
  const after = STAGE_ORDER.slice(1).map((n) => STAGES[n]);
  const { startsBefore } = readAhead(after);
  assert.equal(after[startsBefore].name, 'upsert', 'upsert and checkpoint overlap the next read; backfill and drift-check do not');
  assert.ok(after.slice(startsBefore).every((s) => !s.postgres));
  assert.equal(readAhead([{ postgres: false }, { postgres: true }]).startsBefore, 2, 'a plan ending in a Postgres step reads the next batch after it');
});
