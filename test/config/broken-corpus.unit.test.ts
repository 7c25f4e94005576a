// Every entry in test/fixtures/config/broken/ holds one mistake: a .yml file, or a directory when the
// mistake spans files (duplicate names, two pipelines writing one table). Next to each sits
// <name>.expected.txt with the exact output of `pgduck validate <entry>`.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { captureValidate, updateExpected, useRepoRoot } from './capture-validate.js';

useRepoRoot();
const dir = 'test/fixtures/config/broken';
const entries = readdirSync(dir)
  .filter((e) => !e.endsWith('.expected.txt'))
  .sort();

test('the corpus covers every kind of mistake it promises', () => {
  for (const required of [
    'yaml-syntax.yml',
    'wrong-type.yml',
    'unknown-key-typo.yml',
    'missing-required.yml',
    'bad-cron.yml',
    'bad-timezone.yml',
    'missing-env.yml',
    'batch-size-range.yml',
    'duplicate-names',
    'two-pipelines-one-target',
    '2fast.yml',
    'empty.yml',
    'tab-indent.yml',
    'source-not-a-mapping.yml',
    'empty-primary-key.yml',
    'unknown-key-no-match.yml',
    'env-default-wrong-type.yml',
    'many-mistakes.yml',
  ]) {
    assert.ok(entries.includes(required), `missing fixture ${required}`);
  }
});

for (const entry of entries) {
  const stem = entry.replace(/\.ya?ml$/, '');
  const expectedFile = `${dir}/${stem}.expected.txt`;
  test(`broken/${entry}`, async () => {
    // An empty environment: the missing-variable fixtures must not depend on the machine.
    const { code, output } = await captureValidate([`${dir}/${entry}`], { json: false, env: {} });
    if (updateExpected || !existsSync(expectedFile)) writeFileSync(expectedFile, output);
    assert.equal(output, readFileSync(expectedFile, 'utf8'));
    assert.equal(code, 3, 'a broken config exits 3 (kind config)');
    assert.doesNotMatch(output, /✓/);
  });
}
