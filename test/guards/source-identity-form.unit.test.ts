/**
 * A partitioned table's identity gained its attachments (`leaves;xmins`): one recorded in the older
 * form (`leaves`) with the same leaves is adopted without a re-read; any other difference is a change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameLeavesOlderForm, typeTextChanges } from '../../src/postgres/source-identity.js';

test('an identity of the older form with the same leaves is the same table; other leaves, or the new form on both sides, are not', () => {
  assert.equal(sameLeavesOlderForm('10,11', '10,11;700,701'), true);
  assert.equal(sameLeavesOlderForm('10,11', '10,12;700,701'), false);
  assert.equal(sameLeavesOlderForm('10,11;700,701', '10,11;700,705'), false);
  assert.equal(sameLeavesOlderForm('10', '10'), false);
  assert.equal(sameLeavesOlderForm(null, '10;700'), false);
});

const facts = (enums: Record<string, string>, composites: string | null = null) => JSON.stringify({ enums, composites });

test('a renamed enum label is one present on both sides under another name; an added or an unknown one is not', () => {
  const renamed = (was: string | null, now: string | null) => typeTextChanges(was, now).renamed;
  assert.deepEqual(renamed(facts({ 1: 'free', 2: 'pro' }), facts({ 1: 'free', 2: 'business' })), [{ from: 'pro', to: 'business' }]);
  assert.deepEqual(renamed(facts({ 1: 'free', 2: 'pro' }), facts({ 1: 'free', 2: 'pro', 3: 'team' })), []);
  assert.deepEqual(renamed(null, facts({ 1: 'free' })), []);
  assert.deepEqual(renamed('{"1": "free"}', facts({ 1: 'other' })), [], 'an older form is unknown: adopted');
  assert.deepEqual(renamed(facts({ 1: 'a,b' }), facts({ 1: 'a;b' })), [{ from: 'a,b', to: 'a;b' }]);
});

test("a composite type's fields changed is a change of text; the same digest is not", () => {
  assert.equal(typeTextChanges(facts({}, 'd1'), facts({}, 'd2')).composites, true);
  assert.equal(typeTextChanges(facts({}, 'd1'), facts({}, 'd1')).composites, false);
  assert.equal(
    typeTextChanges(facts({}, null), facts({}, 'd1')).composites,
    true,
    'a composite column added: counted as a change too (one re-read more, harmless)',
  );
});
