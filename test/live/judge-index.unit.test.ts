/**
 * The missing (cursor, key) index, judged in proportion to the table: a warning below
 * SMALL_TABLE_ROWS by the planner's estimate, an error above it or when the size is unknown.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { judgeSource, SMALL_TABLE_ROWS } from '../../src/live/judge-source.js';
import type { SourceRelation } from '../../src/postgres/inspect-source.js';
import { pgColumnFromFormatType } from '../../src/schema/pg-column-from-format-type.js';

const spec = {
  name: 'rental',
  source: {
    schema: 'public',
    table: 'rental',
    primaryKey: ['rental_id'],
    cursor: 'last_update',
    softDeleteMode: 'keep',
    nullCursor: 'include',
    onRecreate: 'stop',
    hardDeleteMode: 'remove',
  },
  target: { schema: 'main', table: 'rental' },
} as unknown as PipelineSpec;

const relation = (rowEstimate: number | null): SourceRelation => ({
  schema: 'public',
  table: 'rental',
  kind: 'table',
  canSelect: true,
  columns: [
    { ...pgColumnFromFormatType('rental_id', 1, 'integer'), notNull: true },
    { ...pgColumnFromFormatType('last_update', 2, 'timestamp with time zone'), notNull: true },
  ],
  indexes: [
    {
      name: 'rental_pkey',
      method: 'btree',
      primary: true,
      unique: true,
      usable: true,
      partial: false,
      columnEquality: true,
      columns: ['rental_id'],
      descending: [false],
      nullsFirst: [false],
    },
  ],
  reads: [],
  rowEstimate,
  inheritanceChildren: 0,
  rowSecurity: false,
});

const indexIssue = (rowEstimate: number | null) => judgeSource(spec, { relation: relation(rowEstimate), role: 'app' }).find((i) => i.check === 'index');

describe('missing (cursor, key) index, in proportion', () => {
  test('a small table: a warning that says why, with the CREATE INDEX', () => {
    const issue = indexIssue(16_044);
    assert.equal(issue?.severity, 'warning');
    assert.match(issue?.message ?? '', /cheap at its ~16,044 rows \(under 100,000, so a warning\)/);
    assert.equal(issue?.fix, 'CREATE INDEX CONCURRENTLY "rental_last_update_rental_id_idx" ON "public"."rental" ("last_update", "rental_id");');
  });

  test('at the threshold and above: an error', () => {
    assert.equal(indexIssue(SMALL_TABLE_ROWS)?.severity, 'error');
    assert.equal(indexIssue(5_000_000)?.severity, 'error');
  });

  test('never analyzed (no estimate): an error that says the size is unknown', () => {
    const issue = indexIssue(null);
    assert.equal(issue?.severity, 'error');
    assert.match(issue?.message ?? '', /its size is unknown: never analyzed/);
  });
});
