/**
 * The one range-digest query builder, with each engine's dialect, without a database: key bounds reach
 * Postgres as numbered, typed parameters in the order the SQL uses them and DuckDB as validated
 * literals; the two dialects' queries have the same skeleton and output columns (both sides are read
 * by name); text keys are compared in byte order on both. Running them is test/verify/*'s job.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { pgColumnFromFormatType } from '../../src/schema/pg-column-from-format-type.js';
import { buildVerifyShape } from '../../src/verify/verify-shape.js';
import { RangeDigestQuery, type DigestQuery } from '../../src/verify/range-digest-query.js';
import { postgresDigestDialect } from '../../src/postgres/range-digest.js';
import { duckDbDigestDialect } from '../../src/duckdb/range-digest.js';
import type { LakeSession } from '../../src/duckdb/lake.js';
import type { KeyRange } from '../../src/verify/range-side.js';

const spec = {
  name: 'lines',
  source: { schema: 'public', table: 'invoice lines', primaryKey: ['code', 'line_no'] },
  target: { schema: 'main', table: 'invoice lines' },
} as unknown as PipelineSpec;
const source = [
  pgColumnFromFormatType('code', 1, 'text'),
  pgColumnFromFormatType('line_no', 2, 'integer'),
  pgColumnFromFormatType('amount', 3, 'numeric(12,2)'),
];
const target = [
  { name: 'code', type: 'VARCHAR' },
  { name: 'line_no', type: 'INTEGER' },
  { name: 'amount', type: 'DECIMAL(12,2)' },
];
const shape = buildVerifyShape(spec, source, target);
const pg = new RangeDigestQuery(shape, postgresDigestDialect(shape));
const duck = new RangeDigestQuery(shape, duckDbDigestDialect({ catalog: '"lake"' } as LakeSession, shape));

const range: KeyRange = { from: ['b', '5'], to: ["it's", '9'] };
const cuts = [
  ['c', '1'],
  ['d', '2'],
];

/** The output column names of the outermost SELECT: each item's alias, or the bare column it is (`b`, `r.v0`). */
function outputColumns(q: DigestQuery): string[] {
  const items: string[] = [];
  let depth = 0;
  let item = '';
  for (const ch of q.sql.slice('SELECT '.length)) {
    if (depth === 0 && ch === ',') {
      items.push(item);
      item = '';
      continue;
    }
    if (depth === 0 && /\sFROM$/.test(item)) break;
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    item += ch;
  }
  items.push(item.replace(/\s+FROM$/, ''));
  return items.map((i) => /(?:AS |^\s*(?:r\.)?)(\w+)\s*$/.exec(i)?.[1] ?? `?${i}`);
}

describe('range-digest query, Postgres dialect', () => {
  test('bounds are parameters, numbered in order, cast to the key kind: range first, then the cuts (middle cut first: a binary search)', () => {
    const q = pg.digest(range, cuts);
    assert.deepEqual(q.params, ['b', '5', "it's", '9', 'd', '2', 'c', '1']);
    assert.ok(q.sql.includes(`("code" COLLATE "C", "line_no") >= ($1::text, $2::int8) AND ("code" COLLATE "C", "line_no") < ($3::text, $4::int8)`), q.sql);
    assert.ok(
      q.sql.includes(
        `CASE WHEN (r.k0 COLLATE "C", r.k1) < ($5::text, $6::int8) THEN CASE WHEN (r.k0 COLLATE "C", r.k1) < ($7::text, $8::int8) THEN 0 ELSE 1 END ELSE 2 END AS b`,
      ),
      q.sql,
    );
    assert.ok(!q.sql.includes("it's"), 'a key value never enters the SQL text');
  });

  test('subqueries are fenced with OFFSET 0; rows are hashed as UTF-8 bytes', () => {
    const q = pg.digest(range, []);
    assert.equal(q.sql.match(/ OFFSET 0\)/g)?.length, 2, q.sql);
    assert.match(q.sql, /md5\(convert_to\(.*, 'UTF8'\)\) AS d/);
    assert.match(q.sql, /sum\(\('x' \|\| substr\(d, 1, 15\)\)::bit\(60\)::bigint\)::text AS h1/);
  });

  test('a whole-table count has no WHERE and no parameters', () => {
    assert.deepEqual(pg.count({ from: null, to: null }), { sql: 'SELECT count(*)::text AS n FROM "public"."invoice lines"', params: [] });
  });

  test('one row by key: a row-value equality', () => {
    const q = pg.values(['x', '3']);
    assert.deepEqual(q.params, ['x', '3']);
    assert.ok(q.sql.includes(`WHERE ("code" COLLATE "C", "line_no") = ($1::text, $2::int8)`), q.sql);
  });
});

describe('range-digest query, DuckDB dialect', () => {
  /** A text key compares as its canonical text, in DuckDB's binary (byte) order. */
  const code = 'CAST("code" AS VARCHAR)';

  test('bounds are literals, compared lexicographically; no parameters', () => {
    const q = duck.digest(range, cuts);
    assert.deepEqual(q.params, []);
    assert.ok(
      q.sql.includes(`WHERE NOT ((${code} < 'b') OR (${code} = 'b' AND "line_no" < 5)) AND ((${code} < 'it''s') OR (${code} = 'it''s' AND "line_no" < 9))`),
      q.sql,
    );
    assert.ok(
      q.sql.includes(
        `CASE WHEN ((r.k0 < 'd') OR (r.k0 = 'd' AND r.k1 < 2)) THEN CASE WHEN ((r.k0 < 'c') OR (r.k0 = 'c' AND r.k1 < 1)) THEN 0 ELSE 1 END ELSE 2 END AS b`,
      ),
      q.sql,
    );
    assert.ok(!q.sql.includes('OFFSET'), q.sql);
    assert.match(q.sql, /CAST\(sum\(CAST\('0x' \|\| substr\(d, 16, 15\) AS BIGINT\)\) AS VARCHAR\) AS h2/);
  });

  test('a key value that is not of its kind is refused, never spliced into SQL', () => {
    assert.throws(() => duck.values(['x', '3; DROP TABLE t']), /not an integer key value/);
  });

  test('one row by key: equality per key column', () => {
    assert.ok(duck.values(['x', '3']).sql.includes(`FROM "lake".main."invoice lines" WHERE ${code} = 'x' AND "line_no" = 3)`));
  });
});

test('both dialects: the same queries with the same output columns, each side reading its own table', () => {
  const kinds: [string, (b: RangeDigestQuery) => DigestQuery, string[]][] = [
    ['digest', (b) => b.digest(range, cuts), ['b', 'n', 'h1', 'h2']],
    ['count', (b) => b.count(range), ['n']],
    ['boundaries', (b) => b.boundaries(range, 1000, 4), ['k0', 'k1']],
    ['rows', (b) => b.rows([range], 50), ['k0', 'k1', 'v0', 'v1', 'd']],
    ['values', (b) => b.values(['x', '3']), ['c0', 'c1', 'c2']],
  ];
  for (const [kind, build, columns] of kinds) {
    assert.deepEqual(outputColumns(build(pg)), columns, `${kind} (Postgres)`);
    assert.deepEqual(outputColumns(build(duck)), columns, `${kind} (DuckDB)`);
    assert.match(build(pg).sql, /FROM "public"\."invoice lines"/, kind);
    assert.match(build(duck).sql, /FROM "lake"\.main\."invoice lines"/, kind);
  }
  // boundaries: every 250th row after the first, at most parts - 1 of them, in key order.
  assert.match(
    pg.boundaries(range, 1000, 4).sql,
    /row_number\(\) OVER \(ORDER BY r\.k0 COLLATE "C", r\.k1\) AS rn .*\nWHERE x\.rn > 1 AND \(x\.rn - 1\) % 250 = 0 ORDER BY x\.rn LIMIT 3$/s,
  );
  assert.match(
    duck.boundaries(range, 1000, 4).sql,
    /row_number\(\) OVER \(ORDER BY r\.k0, r\.k1\) AS rn .*\nWHERE x\.rn > 1 AND \(x\.rn - 1\) % 250 = 0 ORDER BY x\.rn LIMIT 3$/s,
  );
});

describe('range-digest query, bucketing', () => {
  const idSpec = { ...spec, source: { ...spec.source, primaryKey: ['line_no'] } } as unknown as PipelineSpec;
  const idShape = buildVerifyShape(idSpec, source, target);
  const byId = new RangeDigestQuery(idShape, duckDbDigestDialect({ catalog: '"lake"' } as LakeSession, idShape));

  /** The bucket the query's nested CASE puts integer key k in, evaluated with JS semantics. */
  const bucketExpr = (sql: string): string => /SELECT (CASE .*? END) AS b,/s.exec(sql)?.[1] ?? 'NaN';
  const bucketOf = (sql: string, k: number): number => {
    const js = bucketExpr(sql)
      .replace(/\(\(r\.k0 < (\d+)\)\)/g, `(${k} < $1)`)
      .replace(/CASE WHEN (\([^()]*\)) THEN /g, '($1 ? (')
      .replace(/ ELSE /g, ') : (')
      .replace(/ END/g, '))');
    return Function(`return ${js}`)() as number;
  };
  const maxDepth = (sql: string): number => {
    let depth = 0;
    let max = 0;
    for (const token of sql.match(/CASE WHEN| END/g) ?? []) {
      depth += token === 'CASE WHEN' ? 1 : -1;
      max = Math.max(max, depth);
    }
    return max;
  };

  test('a thousand cuts: each key lands between its neighbouring cuts, found in log2(1001) comparisons', () => {
    const cuts1000 = Array.from({ length: 1000 }, (_, i) => [String(10 * (i + 1))]);
    const sql = byId.digest({ from: null, to: null }, cuts1000).sql;
    assert.equal(bucketExpr(sql).match(/CASE WHEN/g)?.length, 1000, 'each cut appears once');
    assert.equal(maxDepth(bucketExpr(sql)), 10);
    for (const k of [0, 9, 10, 11, 4999, 5000, 5001, 9999, 10000, 10001, 123456]) {
      assert.equal(bucketOf(sql, k), Math.min(1000, Math.floor(k / 10)), `key ${k}`);
    }
  });

  test('no cut: one bucket, no CASE', () => {
    assert.match(byId.digest({ from: null, to: null }, []).sql, /SELECT 0 AS b,/);
  });
});

describe('range-digest query, many leaves in one fetch', () => {
  test('rows of several ranges: one query, their span (an index range) and the ranges OR-ed, parameters in order', () => {
    const q = pg.rows(
      [
        { from: ['a', '1'], to: ['b', '2'] },
        { from: ['c', '3'], to: null },
      ],
      10,
    );
    assert.deepEqual(q.params, ['a', '1', 'a', '1', 'b', '2', 'c', '3']);
    assert.ok(
      q.sql.includes(
        `WHERE ("code" COLLATE "C", "line_no") >= ($1::text, $2::int8) AND ((("code" COLLATE "C", "line_no") >= ($3::text, $4::int8) AND ("code" COLLATE "C", "line_no") < ($5::text, $6::int8)) OR (("code" COLLATE "C", "line_no") >= ($7::text, $8::int8)))`,
      ),
      q.sql,
    );
  });

  test('the whole table among them reads every row', () => {
    assert.ok(!pg.rows([{ from: null, to: null }], 10).sql.includes('WHERE'));
    assert.ok(
      pg
        .rows(
          [
            { from: null, to: null },
            { from: ['c', '3'], to: null },
          ],
          10,
        )
        .sql.includes('WHERE (true OR'),
    );
  });
});
