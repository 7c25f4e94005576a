/**
 * The replay plan is data: which files, in which mode, onto which columns. Pure, no database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planReplay, ReplayRefused, resolveFileColumns, type ReplayInput } from '../../src/replay/replay-plan.js';
import type { DescribedFile } from '../../src/replay/read-history.js';
import type { HistoryMetadata } from '../../src/parquet/history-metadata.js';
import { pgColumnFromFormatType } from '../../src/schema/pg-column-from-format-type.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';

const spec: ReplayInput['spec'] = {
  name: 't',
  source: {
    schema: 'public',
    table: 't',
    primaryKey: ['id'],
    cursor: 'updated_at',
    softDeleteMode: 'keep',
    nullCursor: 'include',
    onRecreate: 'stop',
    hardDeleteMode: 'remove',
  },
  target: { schema: 'main', table: 't' },
  schemaEvolution: 'evolve' as PipelineSpec['schemaEvolution'],
};

const col = (name: string, attnum: number, type: string) => pgColumnFromFormatType(name, attnum, type);
const BASE = [col('id', 1, 'integer'), col('name', 2, 'text'), col('updated_at', 3, 'timestamp with time zone')];

function file(
  seq: number,
  opts: { from?: null | 'after'; drained?: boolean; columns?: ReturnType<typeof col>[]; kind?: 'batch' | 'backfill' } = {},
): DescribedFile {
  const kind = opts.kind ?? 'batch';
  const meta: HistoryMetadata = {
    format: 1,
    pipeline: 't',
    kind,
    seq,
    ...(kind === 'batch'
      ? { from: opts.from === null ? null : { cursor: 'c', key: ['1'] }, drained: opts.drained ?? false }
      : { backfill: { id: 1, reason: 'added' } }),
    source: { table: 'public.t', primaryKey: ['id'], cursor: 'updated_at' },
    columns: opts.columns ?? BASE,
  };
  return {
    path: kind === 'batch' ? `/h/${seq}.parquet` : `/h/backfill/${seq}.parquet`,
    kind,
    seq,
    backfillId: kind === 'batch' ? null : 1,
    offset: kind === 'batch' ? null : 0,
    rows: 3,
    meta,
    parquetColumns: meta.columns.map((c) => ({ name: c.name, transport: null })),
  };
}

function plan(files: DescribedFile[], extra: Partial<ReplayInput> = {}) {
  return planReplay({
    spec,
    files: files.map((f) => ({ ...f, columns: resolveFileColumns(f, []) })),
    target: null,
    options: { dropTarget: false },
    canonical: (t) => (t === 'TIMESTAMPTZ' ? 'TIMESTAMP WITH TIME ZONE' : t),
    ...extra,
  });
}

test('a rebuild starts at the last complete pass; a pass that never reached the end does not count', () => {
  const files = [
    file(1, { from: null }),
    file(2, { drained: true }),
    file(3),
    file(4, { from: null }),
    file(5, { drained: true }),
    file(6, { from: null }),
    file(7),
  ];
  const p = plan(files);
  assert.equal(p.mode, 'replace');
  assert.equal(p.buildAs, 't__pgduck_replay');
  assert.deepEqual(p.range, { from: 4, to: 7, explicit: false, passStart: 4, first: 1, last: 7 });
  assert.deepEqual(
    p.files.map((f) => f.file.seq),
    [4, 5, 6, 7],
  );
  assert.match(p.notes.join('\n'), /files before 4 are not replayed/);
  // A pass begun and not yet proven complete (a first bootstrap under way): everything, from its start.
  assert.equal(plan([file(1, { from: null }), file(2)]).range.from, 1);
  // Files older than the record of where a batch started (any of them could have begun a pass): everything.
  const unrecorded = [file(1), file(2)];
  for (const f of unrecorded) delete f.meta!.from;
  assert.equal(plan(unrecorded).range.from, 1);
});

test('a rebuild refuses a history in which no batch was read from the beginning of the table, unless --from takes it as it is', () => {
  // PARQUET_DIR changed (or the first files deleted): batches read after a position, a repair's re-read, a deletes file.
  const repair = file(6);
  delete repair.meta!.from;
  repair.meta!.repair = true;
  const files = [file(5), repair, deletesFile(7, 'remove')];
  const refusal = (e: unknown) => {
    assert.ok(e instanceof ReplayRefused);
    assert.equal(e.kind, 'needs-action');
    assert.equal(e.code, 'REPLAY_NO_PASS');
    assert.equal(
      e.message,
      "the Parquet history of t in /h (seq 5…7) holds no batch read from the beginning of the table (a first run, or the first after a reset): it is not the table's whole history " +
        '(PARQUET_DIR changed, or its first files were moved or deleted), and t rebuilt from it would lack every row those files do not hold, which the next run would not read ' +
        'again (the checkpoint is past them). t, the history and the checkpoint are left as they were',
    );
    assert.equal(
      e.fix,
      'pgduck reset t, then pgduck run: reads every row from Postgres again (into t, kept or created), a pass a replay rebuilds from; ' +
        'or pgduck replay t --from 5 to take these files as they are (the rows they lack stay missing until a reset)',
    );
    return true;
  };
  for (const extra of [
    {},
    { options: { dropTarget: true } },
    { options: { dropTarget: false, to: 6 } },
    { target: { columns: [], primaryKey: null, rows: 0 } },
  ]) {
    assert.throws(() => plan(files, extra), refusal, JSON.stringify(extra));
  }
  // --from takes the files as they are; onto a table with rows, a replay is monotonic and replaces nothing.
  assert.deepEqual(plan(files, { options: { dropTarget: false, from: 5 } }).range, { from: 5, to: 7, explicit: true, passStart: null, first: 5, last: 7 });
  const target = {
    columns: [
      { name: 'id', type: 'INTEGER' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'updated_at', type: 'TIMESTAMP WITH TIME ZONE' },
    ],
    primaryKey: ['id'],
    rows: 3,
  };
  assert.equal(plan(files, { target }).mode, 'monotonic');
  // A pass whose last batch was full ended with an empty read (no file): a later batch read after it says so.
  const afterFull = [file(1, { from: null, drained: true }), file(2, { from: null }), file(3)];
  assert.equal(plan(afterFull).range.from, 1, 'no proof that the pass from 2 ended');
  afterFull[2].meta!.passDone = true;
  assert.equal(plan(afterFull).range.from, 2);
  // The first batch of a new pass, read after the previous one ended, proves that one, not its own.
  const restarted = [file(1, { from: null }), file(2, { from: null }), file(3)];
  restarted[1].meta!.passDone = true;
  assert.equal(plan(restarted).range.from, 1);
});

test('onto a table with rows, or a part of the history: monotonic, with the keys of every later file', () => {
  const files = [file(1, { from: null, drained: true }), file(2), file(3, { kind: 'backfill' }), file(3), file(4)];
  const target = {
    columns: [
      { name: 'id', type: 'INTEGER' },
      { name: 'name', type: 'VARCHAR' },
      { name: 'updated_at', type: 'TIMESTAMP WITH TIME ZONE' },
    ],
    primaryKey: ['id'],
    rows: 10,
  };
  const inPlace = plan(files, { target });
  assert.equal(inPlace.mode, 'monotonic');
  assert.equal(inPlace.buildAs, null);
  const subset = plan(files, { target: null, options: { dropTarget: false, from: 2, to: 3 } });
  assert.equal(subset.mode, 'monotonic');
  assert.deepEqual(
    subset.files.map((f) => `${f.file.kind}${f.file.seq}`),
    ['batch2', 'backfill3', 'batch3'],
  );
  assert.deepEqual(
    subset.keyFiles.map((f) => `${f.file.kind}${f.file.seq}@${f.order}`),
    ['batch2@1', 'backfill3@2', 'batch3@3', 'batch4@4'],
  );
  assert.throws(
    () => plan(files, { target: { ...target, primaryKey: ['name'] } }),
    /t is keyed on \(name\), the pipeline on \(id\): rebuild it with pgduck replay t --drop-target/,
  );
  assert.throws(() => plan(files, { options: { dropTarget: false, from: 9 } }), /no history file of t between 9 and 4 \(its history holds 1…4\)/);
});

test('columns: known by attnum across renames, newest name and type, a replaced column is the newer one, older values cast', () => {
  const v1 = [...BASE, col('qty', 4, 'integer'), col('code', 5, 'text')];
  const v2 = [
    col('id', 1, 'integer'),
    col('title', 2, 'text'),
    col('updated_at', 3, 'timestamp with time zone'),
    col('qty', 4, 'bigint'),
    col('code', 6, 'integer'),
  ];
  const p = plan([file(1, { from: null, drained: true, columns: v1 }), file(2, { columns: v2 })]);
  assert.deepEqual(p.create, [
    { name: 'id', type: 'INTEGER' },
    { name: 'title', type: 'VARCHAR' },
    { name: 'updated_at', type: 'TIMESTAMP WITH TIME ZONE' },
    { name: 'qty', type: 'BIGINT' },
    { name: 'code', type: 'INTEGER' },
  ]);
  const first = p.files[0];
  assert.deepEqual(
    first.columns.map((c) => `${c.parquetName}→${c.target}`),
    ['id→id', 'name→title', 'updated_at→updated_at', 'qty→qty'],
  );
  assert.equal(first.columns.find((c) => c.target === 'qty')?.expr, 'CAST(CAST("qty" AS INTEGER) AS BIGINT)');
  assert.deepEqual(first.notLoaded, [{ parquetName: 'code', reason: 'a newer column of the same name replaced it' }]);
});

test('source.columns as it is now: a column the history holds but the file leaves out is never created, added or loaded', () => {
  const withSecret = [...BASE, col('secret', 4, 'text')];
  const files = [file(1, { from: null, drained: true, columns: withSecret }), file(2, { columns: BASE })];
  const excluding = { ...spec, source: { ...spec.source, columns: { exclude: ['secret'] } } };
  const including = { ...spec, source: { ...spec.source, columns: { include: ['id', 'updated_at'] } } };
  const rebuilt = plan(files, { spec: excluding });
  assert.deepEqual(
    rebuilt.create?.map((c) => c.name),
    ['id', 'name', 'updated_at'],
  );
  assert.deepEqual(rebuilt.files[0].notLoaded, [{ parquetName: 'secret', reason: 'source.columns leaves it out' }]);
  assert.deepEqual(
    plan(files, { spec: including }).create?.map((c) => c.name),
    ['id', 'updated_at'],
  );
  // Onto a table without it: not added. Onto a table that holds it: refused, as the sync refuses it.
  const table = (names: string[]) => ({
    columns: [...BASE, col('secret', 4, 'text')]
      .filter((c) => names.includes(c.name))
      .map((c) => ({ name: c.name, type: c.name === 'id' ? 'INTEGER' : c.name === 'updated_at' ? 'TIMESTAMP WITH TIME ZONE' : 'VARCHAR' })),
    primaryKey: ['id'],
    rows: 10,
  });
  assert.deepEqual(plan(files, { spec: excluding, target: table(['id', 'name', 'updated_at']) }).add, []);
  assert.throws(
    () => plan(files, { spec: excluding, target: table(['id', 'name', 'updated_at', 'secret']) }),
    /source\.columns leaves out "secret", which t holds .*pgduck replay t --drop-target.*ALTER TABLE "t" DROP COLUMN "secret"/,
  );
  assert.deepEqual(
    plan(files, { spec: excluding, target: table(['id', 'name', 'updated_at', 'secret']), options: { dropTarget: true } }).create?.map((c) => c.name),
    ['id', 'name', 'updated_at'],
  );
});

test('files older than their metadata: the state store snapshot, else the Parquet type', () => {
  const legacy: DescribedFile = {
    path: '/h/1.parquet',
    kind: 'batch',
    seq: 1,
    backfillId: null,
    offset: null,
    rows: 1,
    meta: null,
    parquetColumns: [
      { name: 'id', transport: 'int32' },
      { name: 'at', transport: 'utf8' },
      { name: 'n', transport: 'int64' },
    ],
  };
  const cols = resolveFileColumns(legacy, [
    { attnum: 1, name: 'id', pgType: 'integer', baseType: 'integer' },
    { attnum: 2, name: 'at', pgType: 'timestamp without time zone', baseType: 'timestamp without time zone' },
  ]);
  assert.deepEqual(
    cols.map((c) => [c.parquetName, c.identity, c.via, c.mapping.duckType]),
    [
      ['id', 'a:1', 'state store', 'INTEGER'],
      ['at', 'a:2', 'state store', 'TIMESTAMP'],
      ['n', 'n:n', 'Parquet type', 'BIGINT'],
    ],
  );
  assert.match(cols[1].mapping.loadExpr('"at"'), /\(BC\)/, 'BC timestamps as the runner loads them');
  for (const [formatted, typname, elem] of [
    ['numeric(12,2)', 'numeric', null],
    ['character varying(10)[]', '_varchar', 'varchar'],
    ['timestamp(3) with time zone', 'timestamptz', null],
    ['interval day to second', 'interval', null],
    ['"char"', 'char', null],
    ['mood', 'mood', null],
  ] as const) {
    const c = pgColumnFromFormatType('c', 1, formatted);
    assert.deepEqual([c.typname, c.elemTypname], [typname, elem], formatted);
  }
  assert.deepEqual([pgColumnFromFormatType('c', 1, 'numeric(12,2)').numericPrecision, pgColumnFromFormatType('c', 1, 'numeric(12,2)').numericScale], [12, 2]);
});

/** A deletes file (src/repair/deletes-file.ts): the key and cursor columns as the DuckDB table holds them. */
function deletesFile(seq: number, mode: 'remove' | 'mark', textColumns: string[] = []): DescribedFile {
  const meta: HistoryMetadata = {
    format: 3,
    pipeline: 't',
    kind: 'deletes',
    seq,
    deletes: { mode, at: '2026-01-01T00:00:00.000Z' },
    source: { table: 'public.t', primaryKey: ['id'], cursor: 'updated_at' },
    columns: [BASE[0], BASE[2]],
    transport: 'typed',
    textColumns,
  };
  return { path: `/h/deletes/${seq}.parquet`, kind: 'deletes', seq, backfillId: null, offset: null, rows: 2, meta, parquetColumns: [] };
}

test('a deletes file: replayed in its place, read as the table holds it, proves no pass; mark adds the mark column last', () => {
  const files = [file(1, { from: null }), file(2, { drained: true }), deletesFile(3, 'remove'), file(4)];
  const p = plan(files, { options: { dropTarget: true } });
  assert.equal(p.mode, 'replace');
  assert.deepEqual(
    p.files.map((f) => [f.file.seq, f.file.kind]),
    [
      [1, 'batch'],
      [2, 'batch'],
      [3, 'deletes'],
      [4, 'batch'],
    ],
  );
  const gone = p.files[2];
  assert.deepEqual(
    gone.columns.map((c) => [c.target, c.expr]),
    [
      ['id', '"id"'],
      ['updated_at', '"updated_at"'],
    ],
  );
  assert.ok(!p.create!.some((c) => c.name === '_pgduck_deleted_at'), 'remove: no mark column');
  // A deletes file after the newest pass start is no evidence of a pass: the pass still starts at 1.
  assert.equal(p.range.passStart, 1);

  const marked = plan([file(1, { from: null }), file(2, { drained: true }), deletesFile(3, 'mark', ['updated_at'])], { options: { dropTarget: true } });
  assert.deepEqual(marked.create!.at(-1), { name: '_pgduck_deleted_at', type: 'TIMESTAMP WITH TIME ZONE' });
  assert.equal(marked.files[2].columns[1].expr, 'CAST("updated_at" AS TIMESTAMPTZ)', 'a text column (DuckDB text) is cast back');

  // Onto a table that holds rows: the mark column is added when the table lacks it.
  const onto = plan([file(1, { from: null }), file(2, { drained: true }), deletesFile(3, 'mark')], {
    target: {
      columns: BASE.map((c) => ({ name: c.name, type: c.name === 'id' ? 'INTEGER' : c.name === 'name' ? 'VARCHAR' : 'TIMESTAMP WITH TIME ZONE' })),
      primaryKey: ['id'],
      rows: 5,
    },
  });
  assert.equal(onto.mode, 'monotonic');
  assert.deepEqual(onto.add, [{ name: '_pgduck_deleted_at', type: 'TIMESTAMP WITH TIME ZONE' }]);
  assert.ok(
    onto.keyFiles.some((f) => f.file.kind === 'deletes'),
    'its keys say which files hold each row newest state',
  );
});
