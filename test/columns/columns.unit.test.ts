/**
 * source.columns without a database: the file's validation (positions, the key, cursor and
 * tombstone always read, include not shared), the spec it builds, the extract SQL (an excluded
 * column is named nowhere in it), and what the drift planner and verify do with the selection.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { formatProblems } from '../../src/config/format-problems.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { selectColumns, unselectedRename } from '../../src/schema/column-selection.js';
import type { PgColumn } from '../../src/schema/column.js';
import { planDrift } from '../../src/schema/plan-drift.js';
import { buildExtractSql, mapColumns } from '../../src/stages/extract.js';
import { buildVerifyShape } from '../../src/verify/verify-shape.js';
import { compile } from '../../src/runner/compile.js';
import { formatPlan } from '../../src/commands/plan.js';
import { judgeSource } from '../../src/live/judge-source.js';
import type { SourceRelation } from '../../src/postgres/inspect-source.js';

const root = mkdtempSync(join(tmpdir(), 'pgduck-columns-'));
after(() => rmSync(root, { recursive: true, force: true }));
process.chdir(root);

let n = 0;
function dir(files: Record<string, string>): string {
  const d = `p${++n}`;
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

const ACCOUNTS = (columns: string, extra = '') => `source:
  table: accounts
  primary_key: id
  soft_delete: deleted_at
${extra}  columns:
${columns}
target:
  table: accounts
`;

describe('source.columns in a pipeline file', () => {
  test('exclude: the spec lists the excluded columns, in order', () => {
    const d = dir({ 'accounts.yml': ACCOUNTS('    exclude: [password_hash, search]') });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(problems, []);
    assert.deepEqual(specs[0].source.columns, { exclude: ['password_hash', 'search'] });
  });

  test('include: the spec lists exactly the included columns', () => {
    const d = dir({ 'accounts.yml': ACCOUNTS('    include: [id, email, updated_at, deleted_at]') });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(problems, []);
    assert.deepEqual(specs[0].source.columns, { include: ['id', 'email', 'updated_at', 'deleted_at'] });
  });

  test('no columns, or an empty exclude: every column (no selection in the spec)', () => {
    const d = dir({ 'a.yml': 'source: {table: a, primary_key: id}\ntarget: {table: a}\n', 'b.yml': ACCOUNTS('    exclude: []') });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(problems, []);
    assert.deepEqual(
      specs.map((s) => s.source.columns),
      [undefined, undefined],
    );
  });

  test('excluding the key, the cursor or the tombstone is refused at the list item', () => {
    const d = dir({ 'accounts.yml': ACCOUNTS('    exclude:\n      - password_hash\n      - id\n      - updated_at\n      - deleted_at') });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(specs, []);
    assert.deepEqual(formatProblems(problems).trimEnd().split('\n'), [
      `${d}/accounts.yml:8:9 source.columns.exclude[1]: \`id\` is the primary-key column, which every batch reads; it cannot be excluded`,
      `${d}/accounts.yml:9:9 source.columns.exclude[2]: \`updated_at\` is the cursor, which every batch reads; it cannot be excluded`,
      `${d}/accounts.yml:10:9 source.columns.exclude[3]: \`deleted_at\` is the soft_delete column, which every batch reads; it cannot be excluded`,
    ]);
  });

  test('an include list that leaves out the key, cursor or tombstone is refused at the list, naming each', () => {
    const d = dir({ 'accounts.yml': ACCOUNTS('    include: [email, id]', '  cursor: version\n') });
    const { problems } = loadPipelines([d], {});
    assert.equal(problems.length, 1);
    assert.equal(
      formatProblems(problems),
      `${d}/accounts.yml:7:5 source.columns.include: leaves out the cursor \`version\`, the soft_delete column \`deleted_at\`, which every batch reads; add them to the list\n`,
    );
  });

  test("include and exclude together are refused; unknown keys and an empty include are the schema's", () => {
    const both = dir({ 'accounts.yml': ACCOUNTS('    include: [id, updated_at, deleted_at]\n    exclude: [password_hash]') });
    const p1 = loadPipelines([both], {}).problems;
    assert.equal(p1.length, 1);
    assert.match(formatProblems(p1), /accounts\.yml:5:3 source\.columns: has both include and exclude; write one/);
    const typo = dir({ 'accounts.yml': ACCOUNTS('    exlude: [password_hash]') });
    assert.match(formatProblems(loadPipelines([typo], {}).problems), /accounts\.yml:6:5 source\.columns\.exlude: unknown key `exlude`; did you mean `exclude`/);
    const empty = dir({ 'accounts.yml': ACCOUNTS('    include: []') });
    assert.match(formatProblems(loadPipelines([empty], {}).problems), /source\.columns\.include: .*(fewer than 1|at least 1|empty)/);
    const dup = dir({ 'accounts.yml': ACCOUNTS('    exclude: [a, a]') });
    assert.equal(loadPipelines([dup], {}).problems.length, 1);
  });
});

describe('source.columns in _defaults.yml', () => {
  test("a shared exclude is inherited, and a pipeline file's own list replaces it", () => {
    const d = dir({
      '_defaults.yml': 'source:\n  columns:\n    exclude: [password_hash]\n',
      'a.yml': 'source: {table: a, primary_key: id}\ntarget: {table: a}\n',
      'b.yml': 'source:\n  table: b\n  primary_key: id\n  columns: {exclude: [search]}\ntarget: {table: b}\n',
      'c.yml': 'source:\n  table: c\n  primary_key: id\n  columns: {include: [id, updated_at, name]}\ntarget: {table: c}\n',
    });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(problems, []);
    const by = Object.fromEntries(specs.map((s) => [s.name, s]));
    assert.deepEqual(by.a.source.columns, { exclude: ['password_hash'] });
    assert.deepEqual(by.a.defaults?.fields, ['source.columns.exclude']);
    assert.deepEqual(by.b.source.columns, { exclude: ['search'] });
    assert.deepEqual(by.c.source.columns, { include: ['id', 'updated_at', 'name'] });
  });

  test('a shared include is refused where it is written', () => {
    const d = dir({
      '_defaults.yml': 'source:\n  columns:\n    include: [id, updated_at]\n',
      'a.yml': 'source: {table: a, primary_key: id}\ntarget: {table: a}\n',
    });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(specs, []);
    assert.match(formatProblems(problems), new RegExp(`${d}/_defaults\\.yml:3:5 source\\.columns\\.include: cannot be shared: it lists one table's columns`));
  });

  test('a shared exclude naming the cursor is reported in _defaults.yml, for the pipeline it breaks', () => {
    const d = dir({
      '_defaults.yml': 'source:\n  columns:\n    exclude: [password_hash, updated_at]\n',
      'a.yml': 'source: {table: a, primary_key: id}\ntarget: {table: a}\n',
    });
    const { specs, problems } = loadPipelines([d], {});
    assert.deepEqual(specs, []);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].file, `${d}/_defaults.yml`);
    assert.equal(problems[0].inheritedBy, `${d}/a.yml`);
    assert.deepEqual([problems[0].line, problems[0].path], [3, 'source.columns.exclude[1]']);
  });
});

function pg(attnum: number, name: string, typname: string, declaredType = typname): PgColumn {
  return {
    name,
    attnum,
    declaredType,
    baseType: declaredType,
    typname,
    typtype: 'b',
    elemTypname: null,
    elemTyptype: null,
    numericPrecision: null,
    numericScale: null,
    notNull: true,
    generated: false,
  };
}

const SOURCE: PgColumn[] = [
  pg(1, 'id', 'int8', 'bigint'),
  pg(2, 'email', 'text'),
  pg(3, 'password_hash', 'text'),
  pg(4, 'search', 'tsvector'),
  pg(5, 'updated_at', 'timestamptz', 'timestamp with time zone'),
];

function spec(columns?: PipelineSpec['source']['columns'], policy: PipelineSpec['schemaEvolution'] = 'evolve'): PipelineSpec {
  return {
    name: 'accounts',
    file: 'pipelines/accounts.yml',
    source: {
      schema: 'public',
      table: 'accounts',
      primaryKey: ['id'],
      cursor: 'updated_at',
      softDeleteMode: 'keep',
      nullCursor: 'include',
      onRecreate: 'stop',
      hardDeleteMode: 'remove',
      ...(columns && { columns }),
    },
    target: { schema: 'main', table: 'accounts' },
    batchSize: 100,
    schedule: '* * * * *',
    timezone: 'UTC',
    enabled: true,
    schemaEvolution: policy,
    horizon: { marginMs: 0, lookbackSeconds: 0 },
  };
}

describe('the extract reads only the selected columns', () => {
  test('exclude: neither excluded column is named in any SQL, and a tsvector is not refused', () => {
    const s = spec({ exclude: ['password_hash', 'search'] });
    const columns = mapColumns(s, SOURCE);
    assert.deepEqual(
      columns.map((c) => c.name),
      ['id', 'email', 'updated_at'],
    );
    for (const hasPosition of [false, true]) {
      const { sql } = buildExtractSql(s, columns, 'timestamp with time zone', ['bigint'], { hasPosition, horizon: 'timestamptz' });
      assert.doesNotMatch(sql, /password_hash|search|\*/);
      assert.match(sql, /^SELECT "id" AS "id", "email" AS "email", /);
    }
  });

  test('a column of a type pgduck refuses stops the run unless it is excluded, and the error says so', () => {
    const odd = [...SOURCE, { ...pg(6, 'slot', 'anyelement'), typtype: 'p' }];
    assert.throws(
      () => mapColumns(spec(), odd),
      (e: Error & { fix?: string }) => /column slot \(anyelement\)/.test(e.message) && /source\.columns\.exclude/.test(String(e.fix)),
    );
    assert.deepEqual(
      mapColumns(spec({ exclude: ['slot'] }), odd).map((c) => c.name),
      ['id', 'email', 'password_hash', 'search', 'updated_at'],
    );
  });

  test('include: only the listed columns, in source order; a listed column the source lacks stops the run', () => {
    assert.deepEqual(
      mapColumns(spec({ include: ['updated_at', 'email', 'id'] }), SOURCE).map((c) => c.name),
      ['id', 'email', 'updated_at'],
    );
    assert.throws(() => mapColumns(spec({ include: ['id', 'updated_at', 'mail'] }), SOURCE), /has no column "mail", which source\.columns\.include lists/);
  });

  test('plan offline: the selection is printed, and the SQL names it', () => {
    const plan = compile(spec({ exclude: ['password_hash', 'search'] }), { duckdbPath: 'lake/w.duckdb', now: new Date('2026-01-01T00:00:00Z') });
    const text = formatPlan(plan);
    assert.match(text, /columns {4}every column but password_hash, search \(source\.columns\.exclude/);
    assert.match(text, /SELECT <every column but "password_hash", "search">, /);
    assert.deepEqual(plan.source.columns, { exclude: ['password_hash', 'search'] }, 'plan --json carries the selection');
    const inc = formatPlan(compile(spec({ include: ['id', 'email', 'updated_at'] }), { duckdbPath: 'lake/w.duckdb', now: new Date('2026-01-01T00:00:00Z') }));
    assert.match(inc, /columns {4}only id, email, updated_at/);
    assert.doesNotMatch(inc, /<every column/);
  });
});

describe('drift and verify under a selection', () => {
  const previous = SOURCE.map((c) => ({
    attnum: c.attnum,
    name: c.name,
    pgType: c.declaredType,
    baseType: c.baseType,
    pkPosition: c.name === 'id' ? 1 : null,
  }));
  const canon: Record<string, string> = { int8: 'BIGINT', text: 'VARCHAR', timestamptz: 'TIMESTAMP WITH TIME ZONE' };
  const drift = (s: PipelineSpec, source: PgColumn[], target: string[], prev = previous) =>
    planDrift({
      spec: s,
      source,
      mapped: mapColumns(s, source).map((m) => ({ ...m, canonical: canon[source.find((c) => c.attnum === m.attnum)!.typname] })),
      sourcePrimaryKey: ['id'],
      previous: prev,
      target: target.map((name) => ({ name, type: canon[SOURCE.find((c) => c.name === name)?.typname ?? 'text'] })),
      targetPrimaryKey: ['id'],
    });
  const excl = spec({ exclude: ['password_hash', 'search'] });

  test('an excluded column dropped or retyped is no drift event', () => {
    const dropped = SOURCE.filter((c) => c.name !== 'password_hash');
    const retyped = SOURCE.map((c) => (c.name === 'password_hash' ? pg(3, 'password_hash', 'bytea') : c));
    for (const source of [dropped, retyped]) {
      const plan = drift(excl, source, ['id', 'email', 'updated_at']);
      assert.deepEqual([plan.events, plan.added, plan.backfills], [[], [], []]);
    }
  });

  test('a new column: synced under exclude, ignored under include', () => {
    const grown = [...SOURCE, pg(6, 'plan', 'text')];
    const plan = drift(excl, grown, ['id', 'email', 'updated_at']);
    assert.deepEqual(
      plan.added.map((c) => c.name),
      ['plan'],
    );
    const inc = drift(spec({ include: ['id', 'email', 'updated_at'] }), grown, ['id', 'email', 'updated_at']);
    assert.deepEqual([inc.events, inc.added, inc.load.map((c) => c.name)], [[], [], ['id', 'email', 'updated_at']]);
  });

  test('a column taken out of exclude is added and backfilled (existing rows re-read)', () => {
    const plan = drift(spec({ exclude: ['search'] }), SOURCE, ['id', 'email', 'updated_at']);
    assert.deepEqual(
      plan.added.map((c) => c.name),
      ['password_hash'],
    );
    assert.deepEqual(plan.backfills, [{ reason: 'added', columns: [{ attnum: 3, name: 'password_hash' }] }]);
  });

  test('an excluded column renamed into the selection is refused (never synced)', () => {
    const renamed = SOURCE.map((c) => (c.name === 'password_hash' ? pg(3, 'pw_hash', 'text') : c));
    assert.deepEqual(unselectedRename(excl.source, renamed, previous), [{ from: 'password_hash', to: 'pw_hash' }]);
    assert.throws(() => drift(excl, renamed, ['id', 'email', 'updated_at']), /"password_hash" → "pw_hash".*Add "pw_hash" to source\.columns\.exclude/);
  });

  test('a column the target holds that the file now excludes is refused, saying how to drop it', () => {
    assert.throws(
      () => drift(excl, SOURCE, ['id', 'email', 'password_hash', 'updated_at']),
      /leaves out "password_hash", which the DuckDB table accounts holds[\s\S]*ALTER TABLE "accounts" DROP COLUMN "password_hash"[\s\S]*pgduck reset accounts --drop-target/,
    );
  });

  test('verify compares only the selected columns', () => {
    const shape = buildVerifyShape(excl, SOURCE, [
      { name: 'id', type: 'BIGINT' },
      { name: 'email', type: 'VARCHAR' },
      { name: 'updated_at', type: 'TIMESTAMP WITH TIME ZONE' },
    ]);
    assert.deepEqual(
      shape.columns.map((c) => c.name),
      ['id', 'email', 'updated_at'],
    );
    assert.deepEqual(shape.uncompared, []);
    assert.deepEqual(
      selectColumns(excl.source, SOURCE).map((c) => c.name),
      ['id', 'email', 'updated_at'],
    );
  });
});

describe('validate --connect judges the selection against the live table', () => {
  const relation = (columns: PgColumn[]): SourceRelation => ({
    schema: 'public',
    table: 'accounts',
    kind: 'table',
    canSelect: true,
    columns,
    indexes: [],
    reads: [],
    rowEstimate: 10,
    inheritanceChildren: 0,
    rowSecurity: false,
  });
  const about = (s: PipelineSpec, columns: PgColumn[]) =>
    judgeSource(s, { relation: relation(columns), role: 'pgduck' }).filter((i) => i.check === 'columns' || i.check === 'type');

  test('a listed column the source lacks is an error at its list item, with a did-you-mean', () => {
    const issues = about(spec({ exclude: ['password_hsh', 'search'] }), SOURCE);
    assert.deepEqual(
      issues.map((i) => [i.severity, i.path, i.column]),
      [['error', ['source', 'columns', 'exclude', 0], 'password_hsh']],
    );
    assert.match(issues[0].message, /has no column "password_hsh"; did you mean "password_hash"\?/);
    const inc = about(spec({ include: ['id', 'updated_at', 'mail'] }), SOURCE);
    assert.deepEqual(
      inc.map((i) => i.path),
      [['source', 'columns', 'include', 2]],
    );
  });

  test('an exclude inherited from _defaults.yml may name columns a table does not have', () => {
    const s = { ...spec({ exclude: ['api_token'] }), defaults: { file: 'pipelines/_defaults.yml', fields: ['source.columns.exclude'] } };
    assert.deepEqual(about(s, SOURCE), []);
  });

  test('an excluded column of a refused type is no error; the same column synced is', () => {
    const odd = [...SOURCE, { ...pg(6, 'slot', 'anyelement'), typtype: 'p' }];
    assert.deepEqual(about(spec({ exclude: ['slot'] }), odd), []);
    assert.deepEqual(
      about(spec(), odd).map((i) => [i.check, i.column]),
      [['type', 'slot']],
    );
  });
});
