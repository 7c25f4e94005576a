/**
 * A partitioned table's identity gained its attachments (`leaves;xmins`): one recorded in the older
 * form (`leaves`) with the same leaves is adopted without a re-read; any other difference is a change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lsnValue, sameLeavesOlderForm, typeTextChanges, wentBack } from '../../src/postgres/source-identity.js';

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

test('a WAL position is read as one number: the part after the slash is the low 32 bits', () => {
  assert.equal(lsnValue('0/0'), 0n);
  assert.equal(lsnValue('0/300D198'), 0x300d198n);
  assert.equal(lsnValue('16/B374D848'), (0x16n << 32n) + 0xb374d848n);
  assert.ok((lsnValue('1/0') ?? 0n) > (lsnValue('0/FFFFFFFF') ?? 0n), 'not compared as text');
  assert.equal(lsnValue('nonsense'), null);
});

test('the cluster went back: another timeline, or a WAL position behind the last run read on a primary; unknown sides never count', () => {
  const at = (timeline: string | null, walLsn: string | null) => ({ timeline, walLsn });
  assert.match(wentBack(at('1', '0/5000000'), at('2', '0/6000000')) ?? '', /timeline 2, was 1/, 'a promotion, even past the old position');
  assert.match(wentBack(at('3', '1/0'), at('3', '0/FFFFFFFF')) ?? '', /0\/FFFFFFFF is behind the 1\/0/);
  assert.equal(wentBack(at('3', '0/10'), at('3', '0/10')), null, 'an idle cluster');
  assert.equal(wentBack(at('3', '0/10'), at('3', '0/11')), null);
  assert.equal(wentBack(at('3', '0/90'), at('3', null)), null, 'now a standby: its replay position may trail');
  assert.equal(wentBack(at(null, null), at('4', '0/10')), null, 'recorded before: adopted');
  assert.equal(wentBack(at('4', '0/10'), at(null, null)), null, 'a role that may not read them');
});

test("a virtual generated column's new expression is a change of text; one added, or an identity recorded before it was tracked, is not", () => {
  const gen = (generated?: Record<string, string>) => JSON.stringify({ enums: {}, composites: null, ...(generated === undefined ? {} : { generated }) });
  assert.equal(typeTextChanges(gen({ 3: 'e1' }), gen({ 3: 'e2' })).generated, true);
  assert.equal(typeTextChanges(gen({ 3: 'e1' }), gen({ 3: 'e1' })).generated, false);
  assert.equal(typeTextChanges(gen({}), gen({ 3: 'e1' })).generated, false, 'a virtual column added: the drift check adds it');
  assert.equal(typeTextChanges(gen({ 3: 'e1', 4: 'e9' }), gen({ 3: 'e1' })).generated, false, 'one dropped');
  assert.equal(typeTextChanges(gen(), gen({ 3: 'e1' })).generated, false, 'recorded before: adopted');
});

test("a column's collation changed is a change; a text column added, or an identity recorded before it was tracked, is not", () => {
  const coll = (collations?: Record<string, string>) => JSON.stringify({ enums: {}, composites: null, ...(collations === undefined ? {} : { collations }) });
  assert.equal(typeTextChanges(coll({ 1: '100' }), coll({ 1: '950' })).collations, true);
  assert.equal(typeTextChanges(coll({ 1: '100' }), coll({ 1: '100' })).collations, false);
  assert.equal(typeTextChanges(coll({ 1: '100' }), coll({ 1: '100', 5: '100' })).collations, false, 'a text column added');
  assert.equal(typeTextChanges(coll(), coll({ 1: '100' })).collations, false, 'recorded before: adopted');
});
