/**
 * Two source rules found by review, as a pure function of the catalog (judgeSource): a date cursor is
 * a cursor the horizon bounds (a warning asks for its zone), a numeric one is refused before a run
 * reads it; a table with inheritance children is refused, its key covering its own rows only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { judgeSource } from '../../src/live/judge-source.js';
import type { SourceRelation } from '../../src/postgres/inspect-source.js';
import { pgColumnFromFormatType } from '../../src/schema/pg-column-from-format-type.js';

const spec = (cursorTimezone?: string) =>
  ({
    name: 'items',
    source: {
      schema: 'public',
      table: 'items',
      primaryKey: ['id'],
      cursor: 'changed',
      softDeleteMode: 'keep',
      nullCursor: 'include',
      onRecreate: 'stop',
      hardDeleteMode: 'remove',
      ...(cursorTimezone ? { cursorTimezone } : {}),
    },
    target: { schema: 'main', table: 'items' },
  }) as unknown as PipelineSpec;

const relation = (cursorType: string, inheritanceChildren = 0): SourceRelation => ({
  schema: 'public',
  table: 'items',
  kind: 'table',
  canSelect: true,
  columns: [
    { ...pgColumnFromFormatType('id', 1, 'integer'), notNull: true },
    { ...pgColumnFromFormatType('changed', 2, cursorType), notNull: true },
  ],
  indexes: [
    {
      name: 'items_pkey',
      method: 'btree',
      primary: true,
      unique: true,
      usable: true,
      partial: false,
      columnEquality: true,
      columns: ['id'],
      descending: [false],
      nullsFirst: [false],
    },
    {
      name: 'items_changed_id_idx',
      method: 'btree',
      primary: false,
      unique: false,
      usable: true,
      partial: false,
      columnEquality: true,
      columns: ['changed', 'id'],
      descending: [false, false],
      nullsFirst: [false, false],
    },
  ],
  reads: [],
  rowEstimate: 10,
  inheritanceChildren,
  rowSecurity: false,
});

const cursorIssues = (cursorType: string, zone?: string) =>
  judgeSource(spec(zone), { relation: relation(cursorType), role: 'app' })
    .filter((i) => i.check === 'cursor')
    .map((i) => ({ severity: i.severity, blocksRun: i.blocksRun === true, path: i.path.join('.') }));

test('a date cursor is bounded by the horizon: no error, a warning for its zone until cursor_timezone is set', () => {
  assert.deepEqual(cursorIssues('date'), [{ severity: 'warning', blocksRun: false, path: 'source.cursor_timezone' }]);
  assert.deepEqual(cursorIssues('date', 'Europe/Paris'), []);
  assert.deepEqual(cursorIssues('timestamp with time zone'), []);
});

test('a numeric or text cursor is refused by a run, not only by validate --connect', () => {
  for (const type of ['numeric', 'text']) assert.deepEqual(cursorIssues(type), [{ severity: 'error', blocksRun: true, path: 'source.cursor' }], type);
});

test('a table with inheritance children: its key is not known to be unique, and a run is refused', () => {
  const keyIssues = (children: number) =>
    judgeSource(spec(), { relation: relation('timestamp with time zone', children), role: 'app' }).filter((i) => i.check === 'primary-key');
  assert.deepEqual(keyIssues(0), []);
  const [issue, ...rest] = keyIssues(2);
  assert.deepEqual(rest, []);
  assert.equal(issue.severity, 'error');
  assert.equal(issue.blocksRun, true);
  assert.match(issue.message, /has 2 inheritance children .* cover its own rows only/);
});
