/**
 * The null-cursor sweep's pure parts: what a run reads after each batch, the sweep's query, and when
 * a chunk may be skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newBatch, nextStart } from '../../src/stages/stage.js';
import { buildNullCursorSql, chunkDigest, chunkUnchanged, noteTouchedKeys, TOUCHED_KEYS_LIMIT } from '../../src/stages/null-cursor-sweep.js';
import { newRunMemory } from '../../src/stages/run-memory.js';
import { tableSpec } from '../support/table-spec.js';

const at = { cursor: '2026-01-01 00:00:00+00', key: ['7'] };

test('after the keyset pass drains, a nullable cursor starts the sweep; a NOT NULL one ends the run', () => {
  const full = { ...newBatch(3, { phase: 'cursor', from: null }), rowCount: 2, last: at, drained: false };
  assert.deepEqual(nextStart(full), { seq: 4, start: { phase: 'cursor', from: at } });
  const drained = { ...full, rowCount: 1, drained: true };
  assert.equal(nextStart(drained), null);
  assert.deepEqual(nextStart({ ...drained, cursorNullable: true }), { seq: 4, start: { phase: 'null-cursor', from: at, afterKey: null } });
  // An empty batch wrote no file: the next one takes its number.
  assert.deepEqual(nextStart({ ...drained, rowCount: 0, cursorNullable: true }), { seq: 3, start: { phase: 'null-cursor', from: at, afterKey: null } });
});

test('the sweep goes on by key until a chunk comes back short, also over chunks it skipped', () => {
  const chunk = { ...newBatch(5, { phase: 'null-cursor', from: at, afterKey: null }), rowCount: 0, nullCursorChunk: { digest: 'd', lastKey: ['42'] } };
  assert.deepEqual(nextStart(chunk), { seq: 5, start: { phase: 'null-cursor', from: at, afterKey: ['42'] } });
  assert.deepEqual(nextStart({ ...chunk, rowCount: 10 }), { seq: 6, start: { phase: 'null-cursor', from: at, afterKey: ['42'] } });
  assert.equal(nextStart({ ...chunk, drained: true }), null);
});

test('the sweep query: NULL cursor, keyset on the key alone, quoted names', () => {
  const spec = { ...tableSpec('weird "t"', 500), source: { ...tableSpec('weird "t"', 500).source, primaryKey: ['a', 'b'] } };
  const columns = ['a', 'b', 'updated_at'].map((name) => ({ name, selectExpr: (c: string) => c }));
  assert.equal(
    buildNullCursorSql(spec, columns, ['int4', 'text'], true).sql,
    'SELECT "a" AS "a", "b" AS "b", "updated_at" AS "updated_at"\nFROM "public"."weird ""t"""\n' +
      'WHERE "updated_at" IS NULL AND ("a", "b") > ($1::int4, $2::text)\nORDER BY "public"."weird ""t"""."a", "public"."weird ""t"""."b"\nLIMIT 500',
  );
  assert.match(buildNullCursorSql(spec, columns, ['int4', 'text'], false).sql, /\nWHERE "updated_at" IS NULL\nORDER BY/);
});

test('a chunk is skipped only when the last sweep wrote it and the keyset pass of this run did not load one of its keys', () => {
  const columns = [
    { name: 'id', pgType: 'integer' },
    { name: 'note', pgType: 'text' },
  ];
  const rows = [
    ['1', 'a'],
    ['2', null],
  ];
  const digest = chunkDigest(columns, rows);
  assert.notEqual(digest, chunkDigest(columns, [rows[0], ['2', '']]), 'NULL and empty text differ');
  assert.notEqual(digest, chunkDigest([columns[0], { name: 'note', pgType: 'varchar' }], rows), 'a changed type changes the digest');
  const memory = newRunMemory();
  assert.equal(chunkUnchanged(memory, new Set([digest]), digest, [['1'], ['2']]), true);
  assert.equal(chunkUnchanged(memory, new Set(['other']), digest, [['1'], ['2']]), false);
  noteTouchedKeys(memory, [['2']]);
  assert.equal(chunkUnchanged(memory, new Set([digest]), digest, [['1'], ['2']]), false, 'key 2 was loaded by the keyset pass of this run');
  const busy = newRunMemory();
  noteTouchedKeys(
    busy,
    Array.from({ length: TOUCHED_KEYS_LIMIT + 1 }, (_, i) => [String(i + 1000)]),
  );
  assert.equal(busy.touchedKeys, 'too-many');
  assert.equal(chunkUnchanged(busy, new Set([digest]), digest, [['1']]), false, 'past the limit every chunk is written');
});
