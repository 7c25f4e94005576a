/**
 * The pure parts of hard_delete_mode mark, without a database: which rows verify compares (the
 * DuckDB side reads only unmarked rows under mark, every row under remove; the mark column is never
 * reported as uncompared), which columns the `_current` view filters on, and the words of an outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { pgColumnFromFormatType } from '../../src/schema/pg-column-from-format-type.js';
import { buildVerifyShape } from '../../src/verify/verify-shape.js';
import { RangeDigestQuery } from '../../src/verify/range-digest-query.js';
import { duckDbDigestDialect } from '../../src/duckdb/range-digest.js';
import type { LakeSession } from '../../src/duckdb/lake.js';
import { currentViewColumns, DELETED_AT_COLUMN } from '../../src/duckdb/target-table.js';
import { goneOutcome } from '../../src/report/gone-outcome.js';

const specFor = (hardDeleteMode: 'remove' | 'mark') =>
  ({
    name: 'orders',
    source: { schema: 'public', table: 'orders', primaryKey: ['id'], hardDeleteMode },
    target: { schema: 'main', table: 'orders' },
  }) as unknown as PipelineSpec;
const source = [pgColumnFromFormatType('id', 1, 'integer'), pgColumnFromFormatType('amount', 2, 'numeric(12,2)')];
const plain = [
  { name: 'id', type: 'INTEGER' },
  { name: 'amount', type: 'DECIMAL(12,2)' },
];
const withMarks = [...plain, { name: DELETED_AT_COLUMN, type: 'TIMESTAMP WITH TIME ZONE' }];

test('under mark the DuckDB side reads only unmarked rows; the mark column is not reported as uncompared', () => {
  const shape = buildVerifyShape(specFor('mark'), source, withMarks);
  assert.equal(shape.targetFilter, '"_pgduck_deleted_at" IS NULL');
  assert.deepEqual(shape.uncompared, []);
  assert.deepEqual(
    shape.columns.map((c) => c.name),
    ['id', 'amount'],
  );
  const duck = new RangeDigestQuery(shape, duckDbDigestDialect({ catalog: '"lake"' } as LakeSession, shape));
  for (const q of [duck.count({ from: null, to: null }), duck.digest({ from: ['5'], to: null }, [['9']]), duck.rows([{ from: null, to: ['3'] }], 10)]) {
    assert.match(q.sql, /FROM \(SELECT \* FROM "lake"\.main\."orders" WHERE "_pgduck_deleted_at" IS NULL\) AS compared/);
  }
});

test('under remove (or before the column exists) every target row is compared', () => {
  assert.equal(buildVerifyShape(specFor('remove'), source, withMarks).targetFilter, undefined, 'switched back to remove: marked rows count as extra');
  assert.deepEqual(buildVerifyShape(specFor('remove'), source, withMarks).uncompared, []);
  assert.equal(buildVerifyShape(specFor('mark'), source, plain).targetFilter, undefined);
});

test('the _current view filters on the tombstone, then on the mark column when the table has it', () => {
  assert.deepEqual(currentViewColumns('deleted_at', withMarks), ['deleted_at', DELETED_AT_COLUMN]);
  assert.deepEqual(currentViewColumns(undefined, withMarks), [DELETED_AT_COLUMN]);
  assert.deepEqual(currentViewColumns('deleted_at', plain), ['deleted_at']);
  assert.deepEqual(currentViewColumns(undefined, plain), []);
});

test('an outcome says removed or marked, and how many were back in the source', () => {
  assert.equal(goneOutcome({ gone: 39, removed: 39, marked: 0, mode: 'remove' }), '39 removed');
  assert.equal(goneOutcome({ gone: 39, removed: 37, marked: 0, mode: 'remove' }), '37 removed, 2 back in the source and written');
  assert.equal(goneOutcome({ gone: 39, removed: 0, marked: 39, mode: 'mark' }), '39 marked');
  assert.equal(goneOutcome({ gone: 39, removed: 0, marked: 38, mode: 'mark' }), '38 marked, 1 back in the source and written');
  assert.equal(goneOutcome({ gone: 3, removed: 1, marked: 2, mode: 'mark' }), '2 marked, 1 removed (soft_delete_mode remove)');
});
