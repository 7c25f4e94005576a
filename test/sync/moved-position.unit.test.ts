/**
 * A checkpoint's position is a value of the cursor and key columns it was read on. When the pipeline
 * file names other columns, the position is refused (needs action, nothing read) rather than compared
 * with them; a checkpoint written before the columns were recorded is checked by the key's length only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refuseMovedPosition } from '../../src/stages/extract.js';
import { PgduckError } from '../../src/errors/pgduck-error.js';
import { tableSpec } from '../support/table-spec.js';

const spec = { ...tableSpec('lines', 100), name: 'lines' };
spec.source = { ...spec.source, cursor: 'updated_at', primaryKey: ['region', 'id'] };
const from = { cursor: '2025-01-01 00:00:00+00', key: ['eu', '7'] };

function refusal(on: { cursor: string; key: string[] } | null, position = from): PgduckError | null {
  try {
    refuseMovedPosition(spec, position, on);
    return null;
  } catch (err) {
    assert.ok(err instanceof PgduckError);
    return err;
  }
}

test('the same cursor and key, or nothing recorded and a key of the same length: the position stands', () => {
  assert.equal(refusal({ cursor: 'updated_at', key: ['region', 'id'] }), null);
  assert.equal(refusal(null), null);
});

test('a key of other columns, in another order, or of another length: PRIMARY_KEY_CHANGED, reset --drop-target', () => {
  const cases: [{ cursor: string; key: string[] } | null, typeof from, string][] = [
    [{ cursor: 'updated_at', key: ['id', 'region'] }, from, '(id, region)'],
    [{ cursor: 'updated_at', key: ['region', 'code'] }, from, '(region, code)'],
    [null, { cursor: from.cursor, key: ['7'] }, '1 key column(s)'],
  ];
  for (const [on, position, held] of cases) {
    const err = refusal(on, position);
    assert.equal(err?.code, 'PRIMARY_KEY_CHANGED');
    assert.equal(err?.kind, 'needs-action');
    assert.equal(err?.fix, 'pgduck reset lines --drop-target');
    assert.match(err?.message ?? '', new RegExp(`position on ${held.replace(/[()]/g, '\\$&')}, primary_key now names \\(region, id\\)`));
  }
});

test('another cursor column: CURSOR_CHANGED, a plain reset (the table is kept)', () => {
  const err = refusal({ cursor: 'modified_at', key: ['region', 'id'] });
  assert.equal(err?.code, 'CURSOR_CHANGED');
  assert.equal(err?.kind, 'needs-action');
  assert.equal(err?.fix, 'pgduck reset lines');
  assert.match(err?.message ?? '', /position on modified_at, cursor now names updated_at/);
});
