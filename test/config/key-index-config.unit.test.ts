/**
 * `target.key_index`: absent is the default (a PRIMARY KEY on the DuckDB table) and leaves the spec
 * as it was, so a pipeline that does not use it keeps its target-check digest; `false` reaches the
 * spec and the plan's SQL (no PRIMARY KEY, the key in column comments); anything else is refused at
 * its position.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { compile } from '../../src/runner/compile.js';

const tmp = mkdtempSync(join(tmpdir(), 'pgduck-key-index-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const file = (keyIndex: string | null) =>
  `source:\n  table: public.lines\n  primary_key: [region, id]\ntarget:\n  table: lines\n${keyIndex === null ? '' : `  key_index: ${keyIndex}\n`}`;

function load(name: string, text: string) {
  const path = join(tmp, `${name}.yml`);
  writeFileSync(path, text);
  return loadPipelines([path], {});
}

function firstRunSql(text: string, name: string): string {
  const [spec] = load(name, text).specs;
  const step = compile(spec, { duckdbPath: 'lake/warehouse.duckdb' }).steps.find((s) => s.stage === 'drift-check');
  const sql = step?.sql;
  return typeof sql === 'object' ? sql['first run'] : String(sql);
}

test('key_index: absent and true keep the spec as before; false reaches it', () => {
  for (const [name, text] of [
    ['absent', file(null)],
    ['on', file('true')],
  ] as const) {
    const { specs, problems } = load(name, text);
    assert.deepEqual(problems, []);
    assert.deepEqual(specs[0].target, { schema: 'main', table: 'lines' });
  }
  const { specs, problems } = load('off', file('false'));
  assert.deepEqual(problems, []);
  assert.deepEqual(specs[0].target, { schema: 'main', table: 'lines', keyIndex: false });
});

test('key_index: a value that is not a boolean is a problem at target.key_index', () => {
  const { specs, problems } = load('bad', file('"no"'));
  assert.deepEqual(specs, []);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.equal(problems[0].path, 'target.key_index');
});

test('the plan says how the key is kept: a PRIMARY KEY, or comments naming each key column in order', () => {
  const indexed = firstRunSql(file(null), 'plan-on');
  assert.match(indexed, /PRIMARY KEY \("region", "id"\)\n\)$/);
  assert.doesNotMatch(indexed, /COMMENT/);
  const commented = firstRunSql(file('false'), 'plan-off');
  assert.doesNotMatch(commented, /PRIMARY KEY/);
  assert.match(
    commented,
    /;\nCOMMENT ON COLUMN "warehouse"\.main\."lines"\."region" IS 'pgduck key column 1';\nCOMMENT ON COLUMN "warehouse"\.main\."lines"\."id" IS 'pgduck key column 2'$/,
  );
});

test('key_index may be shared in _defaults.yml; a pipeline file overrides it', () => {
  const dir = join(tmp, 'shared');
  mkdirSync(dir);
  writeFileSync(join(dir, '_defaults.yml'), 'target:\n  key_index: false\n');
  writeFileSync(join(dir, 'inherits.yml'), file(null));
  writeFileSync(join(dir, 'overrides.yml'), file('true').replace('table: lines', 'table: lines2'));
  const { specs, problems } = loadPipelines([dir], {});
  assert.deepEqual(problems, []);
  assert.deepEqual(
    specs.map((s) => [s.name, s.target.keyIndex]),
    [
      ['inherits', false],
      ['overrides', undefined],
    ],
  );
});
