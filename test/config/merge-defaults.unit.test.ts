// The merge rules of shared defaults, as pure functions: what a pipeline file inherits, what it
// overrides, and which file each merged value is reported in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inheritedFields, mergeDefaults, originOf } from '../../src/config/merge-defaults.js';

const defaults = {
  schedule: '0 */5 * * * *',
  batch_size: 5000,
  source: { cursor: 'modified_at', soft_delete: 'deleted_at', columns: ['a', 'b'] },
  horizon: { margin_ms: 2000, lookback_seconds: 60 },
  target: { duckdb_path: 'lake/shared.duckdb' },
};

test('mappings merge key by key at every depth; what the pipeline writes wins', () => {
  const pipeline = { source: { table: 'public.a', primary_key: 'id', cursor: 'version' }, horizon: { margin_ms: 0 }, target: { table: 'a' } };
  assert.deepEqual(mergeDefaults(defaults, pipeline), {
    source: { table: 'public.a', primary_key: 'id', cursor: 'version', soft_delete: 'deleted_at', columns: ['a', 'b'] },
    horizon: { margin_ms: 0, lookback_seconds: 60 },
    target: { table: 'a', duckdb_path: 'lake/shared.duckdb' },
    schedule: '0 */5 * * * *',
    batch_size: 5000,
  });
});

test('lists and single values are replaced whole, never concatenated; neither input is changed', () => {
  const before = structuredClone(defaults);
  const pipeline = { source: { columns: ['c'] }, schedule: '0 0 * * * *', horizon: null };
  const merged = mergeDefaults(defaults, pipeline);
  assert.deepEqual((merged.source as Record<string, unknown>).columns, ['c']);
  assert.equal(merged.schedule, '0 0 * * * *');
  assert.equal(merged.horizon, null, 'a value written over a mapping replaces the mapping');
  assert.deepEqual(defaults, before);
  assert.deepEqual(pipeline, { source: { columns: ['c'] }, schedule: '0 0 * * * *', horizon: null });
});

test('a list of the pipeline file replaces the default list: primary_key [x, y] over [id] is [x, y]', () => {
  const merged = mergeDefaults({ source: { primary_key: ['id'] } }, { source: { primary_key: ['x', 'y'] } });
  assert.deepEqual(merged, { source: { primary_key: ['x', 'y'] } });
});

test('originOf: inherited values belong to the defaults, written and missing ones to the pipeline file', () => {
  const pipeline = { source: { table: 'a', columns: ['c'] }, schedule: '0 0 * * * *', horizon: 5 };
  assert.equal(originOf(['batch_size'], pipeline, defaults), 'defaults');
  assert.equal(originOf(['source', 'soft_delete'], pipeline, defaults), 'defaults');
  assert.equal(originOf(['target', 'duckdb_path'], pipeline, defaults), 'defaults');
  assert.equal(originOf(['schedule'], pipeline, defaults), 'pipeline');
  assert.equal(originOf(['source', 'table'], pipeline, defaults), 'pipeline');
  assert.equal(originOf(['source', 'columns', 0], pipeline, defaults), 'pipeline', 'an item of a list the pipeline replaced');
  assert.equal(originOf(['horizon', 'margin_ms'], pipeline, defaults), 'pipeline', 'under a value that replaced a mapping');
  assert.equal(originOf(['target', 'table'], pipeline, defaults), 'pipeline', 'missing in both: the pipeline file must add it');
  assert.equal(originOf([], pipeline, defaults), 'pipeline');
  assert.equal(originOf(['source', 'columns', 1], { source: { table: 'a' } }, defaults), 'defaults', 'an item of an inherited list');
});

test('inheritedFields lists the leaves taken from the defaults, in their order, without $schema', () => {
  const pipeline = { source: { cursor: 'v' }, schedule: '0 0 * * * *', horizon: { lookback_seconds: 1 } };
  assert.deepEqual(inheritedFields({ $schema: 'x', ...defaults }, pipeline), [
    'batch_size',
    'source.soft_delete',
    'source.columns',
    'horizon.margin_ms',
    'target.duckdb_path',
  ]);
  assert.deepEqual(inheritedFields({ schedule: 'a' }, { schedule: 'b' }), []);
  assert.deepEqual(inheritedFields({ horizon: {} }, {}), ['horizon'], 'an empty mapping is a leaf');
});
