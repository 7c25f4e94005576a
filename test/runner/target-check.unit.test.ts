/**
 * The target check's digest (src/stages/target-check.ts): the same for the same facts, and different
 * when any fact the drift check goes by changes, so an idle run never skips a check it needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { primaryKeyAttnums, targetFingerprint, type TargetCheckInputs } from '../../src/stages/target-check.js';
import type { PgColumn } from '../../src/schema/column.js';
import { tableSpec } from '../support/table-spec.js';

const column = (attnum: number, name: string, declaredType: string, typname: string): PgColumn => ({
  name,
  attnum,
  declaredType,
  baseType: declaredType,
  typname,
  typtype: 'b',
  elemTypname: null,
  elemTyptype: null,
  numericPrecision: null,
  numericScale: null,
  notNull: attnum === 1,
  generated: false,
});

const base: TargetCheckInputs = {
  spec: tableSpec('items', 100),
  duckdbPath: '/lake/warehouse.duckdb',
  generation: 0,
  sourceColumns: [column(1, 'id', 'integer', 'int4'), column(2, 'name', 'text', 'text'), column(3, 'updated_at', 'timestamp with time zone', 'timestamptz')],
  primaryKey: [1],
};

test('the same facts give the same digest', () => {
  assert.equal(targetFingerprint(base), targetFingerprint(structuredClone(base)));
});

test('every fact the drift check goes by changes the digest', () => {
  const spec = base.spec;
  const variants: [string, TargetCheckInputs][] = [
    ['a column retyped', { ...base, sourceColumns: base.sourceColumns.map((c) => (c.name === 'name' ? { ...c, declaredType: 'varchar(10)' } : c)) }],
    ['a column renamed', { ...base, sourceColumns: base.sourceColumns.map((c) => (c.name === 'name' ? { ...c, name: 'title' } : c)) }],
    ['a column added', { ...base, sourceColumns: [...base.sourceColumns, column(4, 'memo', 'text', 'text')] }],
    ['a column dropped', { ...base, sourceColumns: base.sourceColumns.slice(0, 2) }],
    ['a NOT NULL dropped', { ...base, sourceColumns: base.sourceColumns.map((c) => ({ ...c, notNull: false })) }],
    ['another primary key', { ...base, primaryKey: [1, 2] }],
    ['a reset (new generation)', { ...base, generation: 1 }],
    ['another DuckDB file', { ...base, duckdbPath: '/lake/other.duckdb' }],
    ['soft_delete set', { ...base, spec: { ...spec, source: { ...spec.source, softDelete: 'deleted_at' } } }],
    ['hard_delete_mode mark', { ...base, spec: { ...spec, source: { ...spec.source, hardDeleteMode: 'mark' } } }],
    ['a column excluded', { ...base, spec: { ...spec, source: { ...spec.source, columns: { exclude: ['name'] } } } }],
    ['schema_evolution freeze', { ...base, spec: { ...spec, schemaEvolution: 'freeze' } }],
    ['another target table', { ...base, spec: { ...spec, target: { schema: 'main', table: 'items2' } } }],
  ];
  const digests = new Set([targetFingerprint(base)]);
  for (const [what, inputs] of variants) {
    const d = targetFingerprint(inputs);
    assert.ok(!digests.has(d), `${what}: a digest of its own`);
    digests.add(d);
  }
});

test('primary-key attnums come in key order, by name from the shape', () => {
  const shape = {
    columns: [
      { attnum: 1, name: 'a', declaredType: 'int' },
      { attnum: 2, name: 'b', declaredType: 'int' },
      { attnum: 5, name: 'c', declaredType: 'int' },
    ],
    primaryKey: ['c', 'a'],
  };
  assert.deepEqual(primaryKeyAttnums(shape), [5, 1]);
  assert.deepEqual(primaryKeyAttnums({ ...shape, primaryKey: null }), []);
});
