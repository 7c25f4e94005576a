import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { captureValidate, useRepoRoot } from './capture-validate.js';

useRepoRoot();
const tmp = mkdtempSync(join(tmpdir(), 'pgduck-validate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('a valid directory: exit 0 and a check mark', async () => {
  const { code, output } = await captureValidate(['test/fixtures/config/good'], { json: false, env: { PGDUCK_TEST_DB_URL: 'x' } });
  assert.equal(output, '✓ 3 pipelines valid\n');
  assert.equal(code, 0);
});

test('a path that does not exist is a problem; so is a directory with nothing to check', async () => {
  const missing = await captureValidate(['test/fixtures/config/no-such-dir'], { json: false, env: {} });
  assert.equal(missing.code, 3);
  assert.equal(missing.output, 'test/fixtures/config/no-such-dir:1:1: does not exist (no such file or directory)\n0 pipelines checked, 1 problem\n');

  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'README.md'), 'not a pipeline');
  const none = await captureValidate([empty], { json: false, env: {} });
  assert.equal(none.code, 3);
  assert.match(none.output, /no pipeline files \(\*\.yml, \*\.yaml\) found here/);
});

test('a file that is not YAML is refused by name', async () => {
  const { code, output } = await captureValidate(['tsconfig.json'], { json: false, env: {} });
  assert.equal(code, 3);
  assert.match(output, /is not a pipeline file/);
});
