import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointResetError, CheckpointStore } from '../../src/state/checkpoint-store.js';

test('checkpoint store keeps microseconds and exact keys, accumulates counters, survives reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-state-'));
  try {
    const path = join(dir, 'checkpoints.db');
    const store = new CheckpointStore(path);
    assert.equal(store.get('a'), null);
    store.advance('a', { position: { cursor: '2026-01-01 00:00:00.000001+00', key: ['9223372036854775807'] }, rows: 10 });
    store.advance('a', { position: null, rows: 5 }); // all rows above the horizon: position unchanged
    store.close();

    const again = new CheckpointStore(path);
    const cp = again.get('a');
    assert.deepEqual(cp?.position, { cursor: '2026-01-01 00:00:00.000001+00', key: ['9223372036854775807'] });
    assert.equal(cp?.rowsTotal, 15);
    assert.equal(cp?.batchesTotal, 2);
    assert.equal(cp?.bootstrapDone, false);

    again.advance('a', { position: { cursor: '2026-01-02 00:00:00+00', key: ['1'] }, rows: 1, bootstrapDone: true });
    assert.equal(again.get('a')?.bootstrapDone, true);

    assert.equal(again.reset('a'), true);
    const reset = again.get('a');
    assert.equal(reset?.position, null);
    assert.equal(reset?.bootstrapDone, false);
    assert.equal(reset?.batchesTotal, 3, 'batch counter kept so Parquet history is not overwritten');
    assert.equal(reset?.generation, 1);

    // A run that started before the reset (generation 0) cannot write its position back.
    assert.throws(() => again.advance('a', { position: { cursor: '2026-01-03 00:00:00+00', key: ['2'] }, rows: 1 }, 0), CheckpointResetError);
    assert.throws(() => again.markBootstrapDone('a', 0), CheckpointResetError);
    assert.equal(again.get('a')?.position, null, 'the reset stands');
    again.advance('a', { position: { cursor: '2026-01-03 00:00:00+00', key: ['2'] }, rows: 1 }, 1);
    assert.equal(again.get('a')?.position?.key[0], '2', 'a run started after the reset writes as usual');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
