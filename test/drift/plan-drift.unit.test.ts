/**
 * planDrift and the type-change rules, without a database: what each drift means for the target,
 * under each policy, and the refusals with their messages.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planDrift, type DriftInput } from '../../src/schema/plan-drift.js';
import { canWiden, isWidening, keepsText, alterUsing } from '../../src/schema/type-change.js';
import { mapColumn, isRefused } from '../../src/schema/type-map.js';
import type { PgColumn } from '../../src/schema/column.js';
import type { SourceColumnRecord } from '../../src/state/checkpoint-store.js';

/** A catalog column from a short description: [attnum, name, typname, baseType, duckdb canonical]. */
const TYPES: Record<string, [string, string]> = {
  integer: ['int4', 'INTEGER'],
  bigint: ['int8', 'BIGINT'],
  smallint: ['int2', 'SMALLINT'],
  text: ['text', 'VARCHAR'],
  'character varying(10)': ['varchar', 'VARCHAR'],
  'character(5)': ['bpchar', 'VARCHAR'],
  'numeric(10,2)': ['numeric', 'DECIMAL(10,2)'],
  'numeric(14,4)': ['numeric', 'DECIMAL(14,4)'],
  'timestamp without time zone': ['timestamp', 'TIMESTAMP'],
  'timestamp with time zone': ['timestamptz', 'TIMESTAMP WITH TIME ZONE'],
};

function col(attnum: number, name: string, baseType: string): PgColumn {
  const [typname] = TYPES[baseType];
  const num = /^numeric\((\d+),(\d+)\)$/.exec(baseType);
  return {
    name,
    attnum,
    declaredType: baseType,
    baseType,
    typname,
    typtype: 'b',
    elemTypname: null,
    elemTyptype: null,
    numericPrecision: num ? Number(num[1]) : null,
    numericScale: num ? Number(num[2]) : null,
    notNull: false,
    generated: false,
  };
}

const BASE: [number, string, string][] = [
  [1, 'id', 'integer'],
  [2, 'name', 'text'],
  [3, 'qty', 'integer'],
  [4, 'flag', 'character(5)'],
  [5, 'updated_at', 'timestamp with time zone'],
];

function input(opts: {
  source?: [number, string, string][];
  previous?: [number, string, string][];
  target?: [string, string][];
  policy?: 'evolve' | 'freeze' | 'fail';
  sourcePk?: string[] | null;
  previousPk?: number[];
  targetPk?: string[] | null;
  key?: string[];
  softDelete?: string;
}): DriftInput {
  const source = (opts.source ?? BASE).map(([a, n, t]) => col(a, n, t));
  const previous: SourceColumnRecord[] = (opts.previous ?? BASE).map(([attnum, name, baseType]) => ({
    attnum,
    name,
    pgType: baseType,
    baseType,
    pkPosition: (opts.previousPk ?? [1]).indexOf(attnum) + 1 || null,
  }));
  return {
    spec: {
      name: 'items',
      file: 'pipelines/items.yml',
      source: {
        schema: 'public',
        table: 'items',
        primaryKey: opts.key ?? ['id'],
        cursor: 'updated_at',
        softDeleteMode: 'keep',
        nullCursor: 'include',
        onRecreate: 'stop',
        hardDeleteMode: 'remove',
        softDelete: opts.softDelete,
      },
      target: { schema: 'main', table: 'items' },
      schemaEvolution: opts.policy ?? 'evolve',
    },
    source,
    mapped: source.map((c) => {
      const m = mapColumn(c);
      assert.ok(!isRefused(m));
      return { ...m, canonical: TYPES[c.baseType][1] };
    }),
    sourcePrimaryKey: opts.sourcePk === undefined ? ['id'] : opts.sourcePk,
    previous,
    target: (opts.target ?? BASE.map(([, n, t]) => [n, t] as [string, string])).map(([name, t]) => ({ name, type: TYPES[t]?.[1] ?? t })),
    targetPrimaryKey: opts.targetPk === undefined ? ['id'] : opts.targetPk,
  };
}

const without = (name: string) => BASE.filter((c) => c[1] !== name);

describe('planDrift', () => {
  test('no drift: nothing to do, every column loaded', () => {
    const plan = planDrift(input({}));
    assert.deepEqual([plan.renames, plan.added, plan.widened, plan.backfills, plan.events], [[], [], [], [], []]);
    assert.deepEqual(
      plan.load.map((c) => c.name),
      ['id', 'name', 'qty', 'flag', 'updated_at'],
    );
  });

  test('first run after a reset (no snapshot): nothing reported', () => {
    assert.deepEqual(planDrift(input({ previous: [] })).events, []);
  });

  test('added columns: added, one backfill for all of them, reported', () => {
    const plan = planDrift(input({ source: [...BASE, [6, 'region', 'text'], [7, 'tier', 'integer']] }));
    assert.deepEqual(
      plan.added.map((c) => c.name),
      ['region', 'tier'],
    );
    assert.deepEqual(plan.backfills, [
      {
        reason: 'added',
        columns: [
          { attnum: 6, name: 'region' },
          { attnum: 7, name: 'tier' },
        ],
      },
    ]);
    assert.deepEqual(
      plan.events.map((e) => e.kind),
      ['added', 'added'],
    );
    assert.ok(plan.load.some((c) => c.name === 'region'));
  });

  test('renames by attnum, a swap included; a taken new name is refused', () => {
    const swapped: [number, string, string][] = [
      [1, 'id', 'integer'],
      [2, 'flag', 'text'],
      [3, 'quantity', 'integer'],
      [4, 'name', 'character(5)'],
      [5, 'updated_at', 'timestamp with time zone'],
    ];
    const plan = planDrift(input({ source: swapped }));
    assert.deepEqual(plan.renames, [
      { from: 'name', to: 'flag' },
      { from: 'qty', to: 'quantity' },
      { from: 'flag', to: 'name' },
    ]);
    assert.deepEqual(plan.added, []);
    assert.deepEqual(
      plan.events.map((e) => e.kind),
      ['renamed'],
    );
    // "qty" renamed to "old", while the target still has "old" from a dropped column.
    assert.throws(
      () =>
        planDrift(
          input({ source: [...without('qty'), [3, 'old', 'integer']], target: [...BASE.map(([, n, t]) => [n, t] as [string, string]), ['old', 'text']] }),
        ),
      /"qty" was renamed to "old", but items already has a column "old".*pgduck reset items --drop-target/,
    );
  });

  test('dropped: reported (once: the next snapshot no longer has it); re-added under the same name: replaces the kept column', () => {
    const dropped = planDrift(input({ source: without('name') }));
    assert.deepEqual(dropped.events, [{ kind: 'dropped', detail: 'source column "name" was dropped: kept in items, NULL for rows written from now on' }]);
    assert.deepEqual(planDrift(input({ source: without('name'), previous: without('name') })).events, []);
    const readded = planDrift(input({ source: [...without('name'), [9, 'name', 'integer']] }));
    assert.deepEqual(readded.replaced, ['name']);
    assert.deepEqual(
      readded.added.map((c) => c.name),
      ['name'],
    );
    assert.deepEqual(readded.events.map((e) => e.kind).sort(), ['added', 'dropped']);
  });

  test('widened: int → bigint in place, no re-read; on the key: table rebuilt', () => {
    const src: [number, string, string][] = [
      [1, 'id', 'bigint'],
      [2, 'name', 'text'],
      [3, 'qty', 'bigint'],
      [4, 'flag', 'character(5)'],
      [5, 'updated_at', 'timestamp with time zone'],
    ];
    const plan = planDrift(input({ source: src }));
    assert.deepEqual(
      plan.widened.map((w) => [w.column.name, w.from, w.to, w.key]),
      [
        ['id', 'INTEGER', 'BIGINT', true],
        ['qty', 'INTEGER', 'BIGINT', false],
      ],
    );
    assert.deepEqual(plan.backfills, []);
  });

  test('retyped with the same DuckDB type: char(5) → text is re-read; varchar(n) → text is only reported', () => {
    const plan = planDrift(input({ source: [...without('flag'), [4, 'flag', 'text']] }));
    assert.deepEqual(plan.widened, []);
    assert.deepEqual(plan.backfills, [{ reason: 'retyped', columns: [{ attnum: 4, name: 'flag' }] }]);
    const vc = planDrift(input({ previous: [...without('name'), [2, 'name', 'character varying(10)']] }));
    assert.deepEqual(vc.backfills, []);
    assert.match(vc.events[0].detail, /"name" changed type \(character varying\(10\) → text\); items keeps VARCHAR$/);
  });

  test('incompatible: text → integer; a retyped cursor; a changed source key; the target keyed otherwise; a gone soft-delete column', () => {
    assert.throws(
      () => planDrift(input({ source: [...without('name'), [2, 'name', 'integer']] })),
      (err: Error) => {
        assert.equal(err.name, 'SchemaDriftError');
        assert.match(
          err.message,
          /^schema drift in public\.items: column "name" changed type \(text → integer\): items has VARCHAR, which cannot become INTEGER\. The DuckDB table items was left unchanged and the checkpoint did not move\. To recover, rebuild the table from the source: pgduck reset items --drop-target$/,
        );
        return true;
      },
    );
    assert.throws(
      () =>
        planDrift(
          input({
            previous: [...without('updated_at'), [5, 'updated_at', 'timestamp without time zone']],
            target: [...without('updated_at').map(([, n, t]) => [n, t] as [string, string]), ['updated_at', 'timestamp without time zone']],
          }),
        ),
      /cursor column "updated_at" changed type \(timestamp without time zone → timestamp with time zone\)/,
    );
    assert.throws(() => planDrift(input({ sourcePk: ['id', 'name'] })), /the primary key of public\.items changed from \(id\) to \(id, name\)/);
    assert.throws(() => planDrift(input({ sourcePk: null })), /changed from \(id\) to \(none\)/);
    assert.throws(
      () => planDrift(input({ key: ['id', 'name'], sourcePk: ['id', 'name'], previousPk: [1, 2] })),
      /items is keyed on \(id\), the pipeline now on \(id, name\)/,
    );
    assert.throws(
      () => planDrift(input({ softDelete: 'deleted_at' })),
      /soft_delete column "deleted_at" is gone from the source.*update soft_delete in pipelines\/items\.yml/,
    );
  });

  test('a narrowed source type loads into the wider target column', () => {
    const plan = planDrift(input({ source: [...without('qty'), [3, 'qty', 'smallint']] }));
    assert.deepEqual([plan.widened, plan.backfills], [[], []]);
    assert.ok(plan.load.some((c) => c.name === 'qty'));
  });

  test('freeze: new columns and renames ignored and reported, types kept', () => {
    const plan = planDrift(input({ policy: 'freeze', source: [...without('qty'), [3, 'quantity', 'integer'], [6, 'region', 'text']] }));
    assert.deepEqual([plan.added, plan.renames], [[], []]);
    assert.deepEqual(
      plan.events.map((e) => e.kind),
      ['ignored', 'ignored'],
    );
    assert.ok(!plan.load.some((c) => c.name === 'region' || c.name === 'quantity'));
    // Reported once: the next snapshot lists them.
    const again = planDrift(
      input({
        policy: 'freeze',
        source: [...without('qty'), [3, 'quantity', 'integer'], [6, 'region', 'text']],
        previous: [...without('qty'), [3, 'quantity', 'integer'], [6, 'region', 'text']],
      }),
    );
    assert.deepEqual(again.events, []);
    assert.throws(
      () => planDrift(input({ policy: 'freeze', source: [...without('qty'), [3, 'qty', 'bigint']] })),
      /items has INTEGER, which cannot become BIGINT \(schema_evolution: freeze/,
    );
  });

  test('fail: every drift is listed in one refusal', () => {
    assert.throws(
      () => planDrift(input({ policy: 'fail', source: [...without('flag'), [6, 'region', 'text']] })),
      /new source column "region" \(text\); source column "flag" was dropped \(schema_evolution: fail stops on any drift\)/,
    );
    assert.doesNotThrow(() => planDrift(input({ policy: 'fail' })));
  });
});

describe('type-change rules', () => {
  test('isWidening: only where every value survives as the same number', () => {
    for (const [a, b] of [
      ['INTEGER', 'BIGINT'],
      ['SMALLINT', 'DOUBLE'],
      ['INTEGER', 'DOUBLE'],
      ['FLOAT', 'DOUBLE'],
      ['DECIMAL(10,2)', 'DECIMAL(14,4)'],
      ['INTEGER', 'DECIMAL(12,2)'],
      ['INTEGER[]', 'BIGINT[]'],
    ]) {
      assert.ok(isWidening(a, b), `${a} → ${b}`);
    }
    for (const [a, b] of [
      ['BIGINT', 'DOUBLE'],
      ['DECIMAL(12,2)', 'DECIMAL(12,3)'],
      ['BIGINT', 'DECIMAL(18,0)'],
      ['VARCHAR', 'INTEGER'],
      ['INTEGER', 'VARCHAR'],
      ['INTEGER[]', 'BIGINT'],
    ]) {
      assert.ok(!isWidening(a, b), `${a} ↛ ${b}`);
    }
  });

  test('canWiden: widenings, anything to VARCHAR, timestamp ↔ timestamptz; never VARCHAR to anything else', () => {
    for (const [a, b] of [
      ['INTEGER', 'BIGINT'],
      ['UUID', 'VARCHAR'],
      ['INTEGER[]', 'VARCHAR'],
      ['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE'],
      ['TIMESTAMP WITH TIME ZONE', 'TIMESTAMP'],
      ['DATE', 'TIMESTAMP'],
    ]) {
      assert.ok(canWiden(a, b), `${a} → ${b}`);
    }
    for (const [a, b] of [
      ['VARCHAR', 'INTEGER'],
      ['VARCHAR', 'JSON'],
      ['BIGINT', 'INTEGER'],
      ['TIMESTAMP', 'DATE'],
    ]) {
      assert.ok(!canWiden(a, b), `${a} ↛ ${b}`);
    }
  });

  test('keepsText: which Postgres ALTER … TYPE leaves every value as it was', () => {
    for (const [a, b] of [
      ['integer', 'bigint'],
      ['character varying(10)', 'text'],
      ['text', 'character varying(20)'],
      ['numeric(10,2)', 'numeric(14,2)'],
      ['numeric(10,2)', 'numeric'],
      ['numeric(10,2)', 'numeric(14,4)'],
      ['integer', 'numeric(12,2)'],
      ['real', 'double precision'],
      ['timestamp(3) with time zone', 'timestamp with time zone'],
      ['integer[]', 'bigint[]'],
    ]) {
      assert.ok(keepsText(a, b), `${a} → ${b}`);
    }
    for (const [a, b] of [
      ['character(5)', 'text'],
      ['timestamp without time zone', 'timestamp with time zone'],
      ['json', 'jsonb'],
      ['numeric', 'numeric(10,2)'],
      ['numeric(14,4)', 'numeric(14,2)'],
      ['numeric(10,2)', 'numeric(50,4)'],
      ['timestamp with time zone', 'timestamp(3) with time zone'],
      ['integer', 'text'],
    ]) {
      assert.ok(!keepsText(a, b), `${a} ↛ ${b}`);
    }
  });

  test('DECIMAL → VARCHAR prints as Postgres does (0.5, not .5)', () => {
    assert.match(alterUsing('"p"', 'DECIMAL(5,5)', 'VARCHAR') ?? '', /regexp_replace/);
    assert.equal(alterUsing('"p"', 'INTEGER', 'BIGINT'), null);
  });
});
