/**
 * `bootstrap.parallel`: absent leaves the spec as it was (one stream); 1..16 reach the spec; 0, 17 and
 * a string are refused at their position with the bounds; it may be shared in _defaults.yml; `plan`
 * says what it does (the snapshot export, the count, the split and the range SQL) only when above 1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { bootstrapParallel } from '../../src/config/pipeline-spec.js';
import { compile } from '../../src/runner/compile.js';

const tmp = mkdtempSync(join(tmpdir(), 'pgduck-bootstrap-parallel-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const file = (parallel: string | null, table = 'lines') =>
  `source:\n  table: public.${table}\n  primary_key: [region, id]\ntarget:\n  table: ${table}\n${parallel === null ? '' : `bootstrap:\n  parallel: ${parallel}\n`}`;

function load(name: string, text: string) {
  const path = join(tmp, `${name}.yml`);
  writeFileSync(path, text);
  return loadPipelines([path], {});
}

function extractStep(text: string, name: string): Record<string, unknown> {
  const [spec] = load(name, text).specs;
  return compile(spec, { duckdbPath: 'lake/warehouse.duckdb' }).steps.find((s) => s.stage === 'extract') as unknown as Record<string, unknown>;
}

test('bootstrap.parallel: absent is 1 and leaves the spec as before; 1 to 16 reach it', () => {
  const absent = load('absent', file(null));
  assert.deepEqual(absent.problems, []);
  assert.equal(absent.specs[0].bootstrap, undefined);
  assert.equal(bootstrapParallel(absent.specs[0]), 1);
  for (const n of [1, 3, 16]) {
    const { specs, problems } = load(`n${n}`, file(String(n)));
    assert.deepEqual(problems, []);
    assert.deepEqual(specs[0].bootstrap, { parallel: n });
    assert.equal(bootstrapParallel(specs[0]), n);
  }
});

test('bootstrap.parallel: 0, 17, 2.5 and a string are problems at bootstrap.parallel, with the bounds', () => {
  for (const [name, value, message] of [
    ['zero', '0', /between 1 and 16 \(got 0\)/],
    ['seventeen', '17', /between 1 and 16 \(got 17\)/],
    ['fraction', '2.5', /must be a whole number \(got a fractional number\)/],
    ['text', '"x"', /must be a whole number \(got a string\)/],
  ] as const) {
    const { specs, problems } = load(name, file(value));
    assert.deepEqual(specs, [], name);
    assert.equal(problems.length, 1, `${name}: ${JSON.stringify(problems)}`);
    assert.equal(problems[0].path, 'bootstrap.parallel', name);
    assert.deepEqual([problems[0].line, problems[0].col], [7, 13], name);
    assert.match(problems[0].message, message, `${name}: ${problems[0].message}`);
  }
  const unknown = load('unknown', file('2').replace('parallel: 2', 'paralel: 2'));
  assert.equal(unknown.problems[0]?.path, 'bootstrap.paralel');
  assert.match(unknown.problems[0]?.message ?? '', /did you mean `parallel`/);
});

test('bootstrap.parallel may be shared in _defaults.yml; a pipeline file overrides it', () => {
  const dir = join(tmp, 'shared');
  mkdirSync(dir);
  writeFileSync(join(dir, '_defaults.yml'), 'bootstrap:\n  parallel: 4\n');
  writeFileSync(join(dir, 'inherits.yml'), file(null));
  writeFileSync(join(dir, 'overrides.yml'), file('2', 'lines2'));
  const { specs, problems } = loadPipelines([dir], {});
  assert.deepEqual(problems, []);
  assert.deepEqual(
    specs.map((s) => [s.name, bootstrapParallel(s)]),
    [
      ['inherits', 4],
      ['overrides', 2],
    ],
  );
});

test('plan: parallel above 1 says what it does and prints the snapshot export, the count, the split and the range SQL; 1 prints none of it', () => {
  const one = extractStep(file(null), 'plan-one');
  assert.equal(one['parallel bootstrap'], undefined);
  assert.ok(!Object.keys(one.sql as object).some((k) => k.startsWith('parallel')));

  const three = extractStep(file('3'), 'plan-three');
  assert.match(
    String(three['parallel bootstrap']),
    /^bootstrap\.parallel 3: .*one snapshot.*pg_export_snapshot\(\).*multiples of batch_size.*at most 2 files waiting each/,
  );
  const sql = three.sql as Record<string, string>;
  assert.equal(sql['parallel bootstrap: export the snapshot'], 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot()');
  assert.match(
    sql['parallel bootstrap: count (in the snapshot)'],
    /^SELECT count\(\*\)::text FROM "public"\."lines"\nWHERE \("updated_at", "region", "id"\) > \(/,
  );
  assert.match(
    sql['parallel bootstrap: each split position (in the snapshot)'],
    // The cast outside the ordered query: ORDER BY "id" under `SELECT "id"::text` would order the text.
    /^SELECT "updated_at"::text, "region"::text, "id"::text FROM \(\n {2}SELECT "updated_at", "region", "id" FROM "public"\."lines"\n {2}WHERE .*\n {2}ORDER BY "updated_at", "region", "id"\n {2}OFFSET <rows per range - 1> LIMIT 1\n\) AS split$/s,
  );
  const range = sql['parallel bootstrap: each range (its own connection)'];
  assert.match(
    range,
    /^BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT '<snapshot id>';\nLOCK TABLE "public"\."lines" IN ACCESS SHARE MODE NOWAIT;\nCOPY \(SELECT /,
  );
  assert.match(
    range,
    /WHERE \("updated_at", "region", "id"\) > \(E'<range start cursor>'.*AND \("updated_at", "region", "id"\) <= \(E'<range end cursor>'.* AND "updated_at" <= E'<horizon>'::timestamptz\nORDER BY/s,
  );
});
