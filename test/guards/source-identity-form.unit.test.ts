/**
 * A partitioned table's identity gained its attachments (`leaves;xmins`): one recorded in the older
 * form (`leaves`) with the same leaves is adopted without a re-read; any other difference is a change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renamedLabels, sameLeavesOlderForm } from '../../src/postgres/source-identity.js';

test('an identity of the older form with the same leaves is the same table; other leaves, or the new form on both sides, are not', () => {
  assert.equal(sameLeavesOlderForm('10,11', '10,11;700,701'), true);
  assert.equal(sameLeavesOlderForm('10,11', '10,12;700,701'), false);
  assert.equal(sameLeavesOlderForm('10,11;700,701', '10,11;700,705'), false);
  assert.equal(sameLeavesOlderForm('10', '10'), false);
  assert.equal(sameLeavesOlderForm(null, '10;700'), false);
});

test('a renamed enum label is one present on both sides under another name; an added or an unknown one is not', () => {
  assert.deepEqual(renamedLabels('{"1": "free", "2": "pro"}', '{"1": "free", "2": "business"}'), [{ from: 'pro', to: 'business' }]);
  assert.deepEqual(renamedLabels('{"1": "free", "2": "pro"}', '{"1": "free", "2": "pro", "3": "team"}'), []);
  assert.deepEqual(renamedLabels(null, '{"1": "free"}'), []);
  assert.deepEqual(renamedLabels('{"1": "a,b"}', '{"1": "a;b"}'), [{ from: 'a,b', to: 'a;b' }]);
});
