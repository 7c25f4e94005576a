// Target schemas (issue 14): target.schema, or a dotted target.table read like source.table, names the
// DuckDB schema; `main` when neither does. The one-writer check compares schema and table.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkPipelineSet } from '../../src/config/check-pipeline-set.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function pipelineDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-target-schema-'));
  dirs.push(dir);
  for (const [name, target] of Object.entries(files)) {
    writeFileSync(join(dir, `${name}.yml`), `source:\n  table: public.${name}\n  primary_key: id\n  cursor: updated_at\ntarget:\n${target}`);
  }
  return dir;
}

const load = (files: Record<string, string>) => loadPipelines([pipelineDir(files)], {}, '/tmp/pgduck-unused.duckdb');

test('without target.schema or a dot, the target lives in main', () => {
  const { specs, problems } = load({ plain: '  table: orders\n' });
  assert.deepEqual(problems, []);
  assert.deepEqual(specs[0].target, { schema: 'main', table: 'orders' });
});

test('a dotted target.table names the schema, as in source.table (quoted parts kept whole)', () => {
  const { specs, problems } = load({
    dotted: '  table: analytics.orders\n',
    quoted: '  table: \'"my.schema"."Order Items"\'\n',
  });
  assert.deepEqual(problems, []);
  const byName = Object.fromEntries(specs.map((s) => [s.name, s.target]));
  assert.deepEqual(byName.dotted, { schema: 'analytics', table: 'orders' });
  assert.deepEqual(byName.quoted, { schema: 'my.schema', table: 'Order Items' });
});

test('target.schema names the schema; given with an agreeing dotted table it is the same', () => {
  const { specs, problems } = load({
    explicit: '  schema: staging\n  table: orders\n',
    agreeing: '  schema: staging\n  table: staging.lines\n',
  });
  assert.deepEqual(problems, []);
  const byName = Object.fromEntries(specs.map((s) => [s.name, s.target]));
  assert.deepEqual(byName.explicit, { schema: 'staging', table: 'orders' });
  assert.deepEqual(byName.agreeing, { schema: 'staging', table: 'lines' });
});

test('target.schema disagreeing with a dotted target.table is a positioned problem, and the pipeline is not built', () => {
  const { specs, problems } = load({ conflict: '  schema: staging\n  table: analytics.orders\n' });
  assert.deepEqual(specs, []);
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, 'target.schema');
  assert.deepEqual([problems[0].line, problems[0].col], [6, 11]);
  assert.match(problems[0].message, /is `staging` but target\.table names schema `analytics`/);
});

test('a malformed target.table is refused with the same words as source.table', () => {
  const { problems } = load({ broken: '  table: a.b.c\n' });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, 'target.table');
  assert.match(problems[0].message, /has 3 dotted parts/);
});

const position = { line: 1, col: 1 };
const identity = (name: string, table: string, schema?: string) => ({
  file: `${name}.yml`,
  name,
  target: { table, ...(schema !== undefined && { schema }), position, fromEnv: false },
});

test('one writer per table: a.t and b.t are two tables, whichever way the schema is written', () => {
  assert.deepEqual(checkPipelineSet([identity('one', 'a.t'), identity('two', 'b.t')], 'w.duckdb'), []);
  assert.deepEqual(checkPipelineSet([identity('one', 't', 'a'), identity('two', 't', 'b')], 'w.duckdb'), []);
  assert.deepEqual(checkPipelineSet([identity('one', 'a.t'), identity('two', 't')], 'w.duckdb'), []);
});

test('one writer per table: main.t and t are one table, and so are a.t and t with target.schema a', () => {
  for (const [first, second] of [
    [identity('one', 'main.t'), identity('two', 't')],
    [identity('one', 't', 'main'), identity('two', 'T')],
    [identity('one', 'a.t'), identity('two', 't', 'a')],
  ]) {
    const problems = checkPipelineSet([first, second], 'w.duckdb');
    assert.equal(problems.length, 1, JSON.stringify([first.target, second.target]));
    assert.equal(problems[0].file, 'two.yml');
    assert.match(problems[0].message, /is already written by pipeline `one`/);
  }
});

test('the one-writer check through the loader: analytics.orders and staging.orders both load; two staging.orders do not', () => {
  const apart = load({ a: '  table: analytics.orders\n', b: '  schema: staging\n  table: orders\n' });
  assert.deepEqual(apart.problems, []);
  assert.equal(apart.specs.length, 2);
  const clash = load({ a: '  table: staging.orders\n', b: '  schema: staging\n  table: orders\n' });
  assert.equal(clash.problems.length, 1);
  assert.match(clash.problems[0].message, /DuckDB table `staging\.orders` is already written by pipeline `a`/);
});

test('target.schema may be shared in _defaults.yml; a pipeline file overrides it or names its own with a dot', () => {
  const dir = pipelineDir({ inherits: '  table: orders\n', overrides: '  schema: staging\n  table: orders\n', dotted: '  table: raw.orders\n' });
  writeFileSync(join(dir, '_defaults.yml'), 'target:\n  schema: analytics\n');
  const { specs, problems } = loadPipelines([dir], {}, '/tmp/pgduck-unused.duckdb');
  assert.deepEqual(problems, []);
  const byName = Object.fromEntries(specs.map((s) => [s.name, s.target]));
  assert.deepEqual(byName.inherits, { schema: 'analytics', table: 'orders' });
  assert.deepEqual(byName.overrides, { schema: 'staging', table: 'orders' });
  assert.deepEqual(byName.dotted, { schema: 'raw', table: 'orders' });
});

test("names pgduck makes beside a target are refused: its scratch tables, and another target's <table>_current view", () => {
  for (const name of ['orders__pgduck_replay', 'a.Orders__PGDUCK_REBUILD']) {
    const [problem, ...rest] = checkPipelineSet([identity('one', name)], 'w.duckdb');
    assert.deepEqual(rest, []);
    assert.match(problem.message, /names ending in `__pgduck_(replay|rebuild)` are pgduck's own/);
  }
  const views = checkPipelineSet([identity('one', 'orders_current'), identity('two', 'orders')], 'w.duckdb');
  assert.deepEqual(
    views.map((p) => [p.file, /is the name of the `<table>_current` view pipeline `two`/.test(p.message)]),
    [['one.yml', true]],
  );
  // Another schema's, or another file's, is another name.
  assert.deepEqual(checkPipelineSet([identity('one', 'a.orders_current'), identity('two', 'b.orders')], 'w.duckdb'), []);
  // The file's record of each target's progress (src/duckdb/target-progress.ts), in main only.
  for (const name of ['_pgduck_progress', 'main._PGDUCK_PROGRESS']) {
    assert.match(checkPipelineSet([identity('one', name)], 'w.duckdb')[0]?.message ?? '', /`_pgduck_progress` is pgduck's own/);
  }
  assert.deepEqual(checkPipelineSet([identity('one', 'analytics._pgduck_progress')], 'w.duckdb'), []);
});
