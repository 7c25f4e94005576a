// One directory, five different mistakes in two files (plus one valid file): all five are reported
// at once, each at its exact line:col, and validate exits 3 (kind config).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { runCli } from '../support/workspace.js';
import { captureValidate, updateExpected, useRepoRoot } from './capture-validate.js';

useRepoRoot();
const dir = 'test/fixtures/config/multi';
const expectedFile = 'test/fixtures/config/multi.expected.txt';

test('validate lists all five mistakes with their positions and exits 3', async () => {
  const { code, output } = await captureValidate([dir], { json: false, env: {} });
  if (updateExpected) writeFileSync(expectedFile, output);
  assert.equal(output, readFileSync(expectedFile, 'utf8'));
  assert.equal(code, 3);

  const lines = output.trimEnd().split('\n');
  assert.deepEqual(
    lines.slice(0, -1).map((l) => l.split(' ')[0]),
    [
      `${dir}/orders.yml:6:3`, // unknown key `conection`
      `${dir}/orders.yml:9:13`, // batch_size is a string
      `${dir}/orders.yml:11:11`, // time zone misspelt
      `${dir}/users.yml:5:30`, // ${PGDUCK_TEST_USERS_PASSWORD} not set, pointed at inside the URL
      `${dir}/users.yml:8:11`, // hour 25
    ],
  );
  assert.match(lines[0], /did you mean `connection`\?/);
  assert.match(lines[2], /did you mean `America\/New_York`\?/);
  assert.equal(lines.at(-1), '3 pipelines checked, 5 problems');
});

test('the JSON form carries the same five records', async () => {
  const { code, output } = await captureValidate([dir], { json: true, env: {} });
  assert.equal(code, 3);
  const report = JSON.parse(output);
  assert.equal(report.valid, false);
  assert.equal(report.pipelines, 3);
  assert.deepEqual(
    report.problems.map((p: { file: string; line: number; col: number; path: string }) => [p.file.split('/').pop(), p.line, p.col, p.path]),
    [
      ['orders.yml', 6, 3, 'source.conection'],
      ['orders.yml', 9, 13, 'batch_size'],
      ['orders.yml', 11, 11, 'timezone'],
      ['users.yml', 5, 30, 'source.connection'],
      ['users.yml', 8, 11, 'schedule'],
    ],
  );
});

test('the valid file in the directory still loads into a spec', () => {
  const { specs } = loadPipelines([dir], {});
  assert.deepEqual(
    specs.map((s) => s.name),
    ['products'],
  );
});

test('the real CLI: the same five lines, exit 3', async (t) => {
  const env = { ...process.env };
  delete env.PGDUCK_TEST_USERS_PASSWORD;
  const started = performance.now();
  const r = await runCli(['validate', dir], env);
  const ms = performance.now() - started;
  assert.equal(r.stdout, readFileSync(expectedFile, 'utf8'));
  assert.equal(r.stderr, '');
  assert.equal(r.code, 3);
  // A measurement, not an assertion: a shared CPU made the old 5 s bound fail (5.6 s at load average 19).
  // What validate costs as a process is measured by `npm run bench:startup`; what it loads is asserted
  // by test/project/lazy-loading.test.ts.
  t.diagnostic(`pgduck validate (whole process): ${ms.toFixed(0)} ms`);
});
