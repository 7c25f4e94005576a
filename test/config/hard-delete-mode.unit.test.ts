/**
 * `source.hard_delete_mode`: `remove` unless the file says `mark`; anything else is a problem at its
 * position naming both values.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';

const tmp = mkdtempSync(join(tmpdir(), 'pgduck-hard-delete-mode-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function load(name: string, mode?: string) {
  const file = join(tmp, `${name}.yml`);
  writeFileSync(file, `source:\n  table: public.orders\n  primary_key: id\n${mode ? `  hard_delete_mode: ${mode}\n` : ''}target:\n  table: ${name}\n`);
  return loadPipelines([file], {});
}

test('hard_delete_mode: remove by default, mark when written', () => {
  const byDefault = load('orders');
  assert.deepEqual(byDefault.problems, []);
  assert.equal(byDefault.specs[0].source.hardDeleteMode, 'remove');
  const marked = load('marked', 'mark');
  assert.deepEqual(marked.problems, []);
  assert.equal(marked.specs[0].source.hardDeleteMode, 'mark');
});

test('an unknown hard_delete_mode is refused at its position', () => {
  const { specs, problems } = load('bogus', 'soft');
  assert.deepEqual(specs, []);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.equal(problems[0].path, 'source.hard_delete_mode');
  assert.equal(problems[0].line, 4);
  assert.match(problems[0].message, /remove.*mark/);
});
