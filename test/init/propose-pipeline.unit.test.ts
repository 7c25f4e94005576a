/**
 * `pgduck init`'s choices, as pure functions of a catalog description: which key, which cursor,
 * which tombstone, every skip reason with its fix, pipeline names, and the file text (which must
 * load through the real config loader as the spec it was made from).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { chooseCursor, chooseKey, judgeProposal, proposePipeline, type Proposal, type Verdict } from '../../src/init/propose-pipeline.js';
import { assignNames, renderPipelineFile, sourceTableText, tableSelected, yamlScalar } from '../../src/init/render-pipeline-file.js';
import { PIPELINE_SCHEMA_FILE, resolveSchemaPath, schemaPathFrom } from '../../src/init/schema-location.js';
import { loadPipelineFile } from '../../src/config/load-pipeline-file.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { parseTableName } from '../../src/config/parse-table-name.js';
import type { SourceIndex, SourceRelation } from '../../src/postgres/inspect-source.js';
import type { PgColumn } from '../../src/schema/column.js';
import { ROOT } from '../support/workspace.js';

const TYPES: Record<string, [declared: string, typname: string, typtype?: string]> = {
  int: ['integer', 'int4'],
  bigint: ['bigint', 'int8'],
  text: ['text', 'text'],
  tstz: ['timestamp with time zone', 'timestamptz'],
  ts: ['timestamp without time zone', 'timestamp'],
  date: ['date', 'date'],
  bool: ['boolean', 'bool'],
  anyarray: ['anyarray', 'anyarray', 'p'],
};

/** `id int!` = NOT NULL. */
function col(spec: string, attnum: number): PgColumn {
  const [name, typeSpec] = spec.split(' ');
  const [declared, typname, typtype] = TYPES[typeSpec.replace('!', '')];
  return {
    name,
    attnum,
    declaredType: declared,
    baseType: declared,
    typname,
    typtype: typtype ?? 'b',
    elemTypname: null,
    elemTyptype: null,
    numericPrecision: null,
    numericScale: null,
    notNull: typeSpec.endsWith('!'),
    generated: false,
  };
}

function index(name: string, columns: (string | null)[], extra: Partial<SourceIndex> = {}): SourceIndex {
  return {
    name,
    method: 'btree',
    primary: false,
    unique: false,
    usable: true,
    partial: false,
    columnEquality: true,
    columns,
    descending: columns.map(() => false),
    nullsFirst: columns.map(() => false),
    ...extra,
  };
}

function relation(columns: string[], indexes: SourceIndex[] = [], extra: Partial<SourceRelation> = {}): SourceRelation {
  return {
    schema: 'public',
    table: 't',
    kind: 'table',
    canSelect: true,
    columns: columns.map((c, i) => col(c, i + 1)),
    indexes,
    reads: [],
    rowEstimate: 10,
    inheritanceChildren: 0,
    rowSecurity: false,
    ...extra,
  };
}

const pk = (...columns: string[]) => index('t_pkey', columns, { primary: true, unique: true });
const proposal = (v: Verdict): Proposal => {
  assert.ok('proposal' in v, `expected a proposal, got ${JSON.stringify(v)}`);
  return v.proposal;
};
const skip = (v: Verdict) => {
  assert.ok('skip' in v, `expected a skip, got ${JSON.stringify(v)}`);
  return v.skip;
};

test('the primary key, the updated_at cursor and a nullable deleted_at tombstone', () => {
  const p = proposal(proposePipeline(relation(['id bigint!', 'name text', 'updated_at tstz!', 'deleted_at tstz'], [pk('id')])));
  assert.deepEqual(p, {
    schema: 'public',
    table: 't',
    primaryKey: ['id'],
    keyFrom: 'primary key',
    cursor: 'updated_at',
    cursorType: 'timestamp with time zone',
    softDelete: 'deleted_at',
  });
});

test('a composite primary key is spelled out in key order', () => {
  const p = proposal(proposePipeline(relation(['line int!', 'invoice int!', 'updated_at tstz!'], [pk('invoice', 'line')])));
  assert.deepEqual(p.primaryKey, ['invoice', 'line']);
});

test('without a primary key: the smallest unique index over NOT NULL plain columns', () => {
  const rel = relation(
    ['a int!', 'b int!', 'c int', 'code text!', 'updated_at tstz!'],
    [
      index('over_nullable', ['c'], { unique: true }),
      index('partial', ['a'], { unique: true, partial: true }),
      index('expression', ['a', null], { unique: true }),
      index('broken', ['b'], { unique: true, usable: false }),
      index('wide', ['a', 'b'], { unique: true }),
      index('not_unique', ['code']),
      index('narrow', ['code'], { unique: true }),
    ],
  );
  assert.deepEqual(chooseKey(rel), { columns: ['code'], from: 'unique index "narrow"' });
  assert.equal(chooseKey(relation(['c int', 'updated_at tstz!'], [index('over_nullable', ['c'], { unique: true })])), null);
});

test('no key: skipped, saying how to declare one', () => {
  const s = skip(proposePipeline(relation(['id int', 'updated_at tstz!'])));
  assert.equal(s.reason, 'no-key');
  assert.match(s.message, /no primary key, and no unique index over NOT NULL columns/);
  assert.equal(s.fix, 'ALTER TABLE "public"."t" ADD PRIMARY KEY (…);');
});

test('cursor choice: a timestamp by name, NOT NULL first, timestamptz first, then the list order; case ignored', () => {
  const pick = (...cols: string[]) => {
    const c = chooseCursor(cols.map((s, i) => col(s, i + 1)));
    return 'column' in c ? c.column.name : c.missing;
  };
  assert.equal(pick('id int!', 'last_update ts!'), 'last_update');
  assert.equal(pick('modified_at tstz', 'updated_at tstz!'), 'updated_at');
  assert.equal(pick('updated_at tstz', 'modified_at tstz!'), 'modified_at');
  assert.equal(pick('updated_at ts!', 'modified_at tstz!'), 'modified_at');
  assert.equal(pick('Updated_At tstz!'), 'Updated_At');
  assert.equal(pick('modified tstz!', 'updated tstz!'), 'updated');
  assert.match(pick('created_at tstz!', 'updated_at text'), /no cursor column: .*\("updated_at" is text\).*--cursor/);
  assert.match(pick('version int!'), /^no cursor column/);
});

test('--cursor names the column: an integer is allowed, text and a missing column are not', () => {
  const cols = ['id int!', 'version bigint!', 'note text', 'updated_at tstz!'].map((s, i) => col(s, i + 1));
  const c = chooseCursor(cols, 'version');
  assert.ok('column' in c && c.column.name === 'version');
  assert.deepEqual(chooseCursor(cols, 'note'), {
    missing: 'column "note" (--cursor) is text: a cursor is a timestamp or an integer that grows on every change',
  });
  assert.deepEqual(chooseCursor(cols, 'nope'), { missing: 'no column "nope" (--cursor)' });
  const s = skip(proposePipeline(relation(['id int!', 'updated_at tstz!'], [pk('id')]), { cursor: 'nope' }));
  assert.equal(s.reason, 'no-cursor');
});

test('soft delete: only a nullable timestamp or date named like a tombstone, never the cursor', () => {
  const sd = (...cols: string[]) => proposal(proposePipeline(relation(['id int!', ...cols], [pk('id')]))).softDelete;
  assert.equal(sd('updated_at tstz!', 'deleted_at tstz'), 'deleted_at');
  assert.equal(sd('updated_at tstz!', 'deleted_on date'), 'deleted_on');
  assert.equal(sd('updated_at tstz!', 'deleted bool'), undefined, 'a boolean is false, not NULL, while the row lives');
  assert.equal(sd('updated_at tstz!', 'deleted_at tstz!'), undefined, 'NOT NULL: every row would look deleted');
  assert.equal(sd('updated_at tstz!', 'archived_at tstz', 'deleted_at tstz'), 'deleted_at');
});

test('views, partitions and unmappable types are skipped with the reason', () => {
  for (const kind of ['view', 'materialized view', 'foreign table'] as const) {
    const s = skip(proposePipeline(relation(['id int!', 'updated_at tstz!'], [], { kind })));
    assert.equal(s.reason, 'view');
    assert.match(s.message, new RegExp(`^a ${kind}: `));
  }
  const part = skip(proposePipeline(relation(['id int!', 'updated_at tstz!'], [pk('id')]), { partitionOf: '"public"."events"' }));
  assert.equal(part.reason, 'partition');
  assert.match(part.message, /a partition of "public"."events"/);
  // A column with no exact DuckDB type is excluded (source.columns.exclude) when the table is otherwise syncable…
  const excluded = proposal(proposePipeline(relation(['id int!', 'updated_at tstz!', 'vals anyarray', 'more anyarray'], [pk('id')])));
  assert.deepEqual(excluded.exclude, ['vals', 'more']);
  // …and skips the table when it is the key (or the cursor, or the tombstone), or the table has no cursor anyway.
  const odd = skip(proposePipeline(relation(['id anyarray!', 'updated_at tstz!'], [pk('id')])));
  assert.equal(odd.reason, 'unmappable-type');
  assert.match(odd.message, /"id" \(anyarray\): pseudo-type anyarray cannot be stored/);
  const noCursor = skip(proposePipeline(relation(['id int!', 'vals anyarray'], [pk('id')])));
  assert.equal(noCursor.reason, 'unmappable-type');
  // A partitioned table is a table: it is proposed.
  proposal(proposePipeline(relation(['id int!', 'updated_at tstz!'], [pk('id')], { kind: 'partitioned table' })));
});

test('judged by the live rules: a missing (cursor, key) index skips a large table with its CREATE INDEX; a small one is written with a warning', () => {
  const rel = relation(['tenant int!', 'id int!', 'updated_at tstz!'], [pk('tenant', 'id')], { rowEstimate: 2_000_000 });
  const p = proposal(proposePipeline(rel));
  const judged = judgeProposal(p, { relation: rel, role: 'app' });
  assert.ok('skip' in judged);
  assert.equal(judged.skip.reason, 'needs-index');
  assert.equal(judged.skip.fix, 'CREATE INDEX CONCURRENTLY "t_updated_at_tenant_id_idx" ON "public"."t" ("updated_at", "tenant", "id");');

  const small = { ...rel, rowEstimate: 10 };
  const written = judgeProposal(proposal(proposePipeline(small)), { relation: small, role: 'app' });
  assert.ok('warnings' in written);
  assert.deepEqual(
    written.warnings.map((w) => w.check),
    ['index'],
  );

  const indexed = relation(['tenant int!', 'id int!', 'updated_at ts!'], [pk('tenant', 'id'), index('t_cursor', ['updated_at', 'tenant', 'id'])]);
  const ok = judgeProposal(proposal(proposePipeline(indexed)), { relation: indexed, role: 'app' });
  assert.ok('warnings' in ok);
  assert.deepEqual(
    ok.warnings.map((w) => w.path.join('.')),
    ['source.cursor_timezone'],
    'a timestamp cursor is written, with the warning validate gives',
  );

  const unreadable = judgeProposal(p, { relation: { ...rel, canSelect: false }, role: 'app' });
  assert.ok('skip' in unreadable && unreadable.skip.reason === 'not-readable');
  assert.match(unreadable.skip.fix ?? '', /GRANT SELECT ON "public"."t" TO "app";/);
});

test('names: the table name, schema-prefixed when two schemas share it, suffixed past taken ones, always a valid stem', () => {
  assert.deepEqual(
    assignNames([
      { schema: 'public', table: 'accounts' },
      { schema: 'sales', table: 'accounts' },
      { schema: 'public', table: 'Odd Name; drop' },
      { schema: 'public', table: '2fast' },
      { schema: 'public', table: 'orders' },
      { schema: 'public', table: '_defaults' },
      { schema: 'public', table: '_audit' },
    ]),
    ['public_accounts', 'sales_accounts', 'Odd_Name_drop', 't_2fast', 'orders', 't_defaults', 't_audit'],
    'never a leading _: such files are not pipelines, and _defaults.yml holds the shared defaults',
  );
  assert.deepEqual(assignNames([{ schema: 'public', table: 'orders' }], ['Orders']), ['public_orders']);
  assert.deepEqual(
    assignNames([
      { schema: 'public', table: 'orders', softDelete: 'deleted_at' },
      { schema: 'public', table: 'orders_current' },
    ]),
    ['orders', 'public_orders_current'],
    'the view orders_current of a soft-delete table is taken',
  );
  assert.deepEqual(assignNames([{ schema: 'public', table: 'orders' }], ['orders', 'public_orders']), ['public_orders_2']);
});

test('YAML scalars read back exactly, and ${ is never interpolated', () => {
  for (const value of ['id', 'updated_at', 'a.b', 'yes', 'null', 'Odd Name; drop', 'with "quote"', 'x: y', '#hash', '${HOME}', 'a$b', '123', '']) {
    const text = yamlScalar(value);
    const back = parse(`k: ${text}`).k as string;
    assert.equal(back.replace(/\$\$\{/g, '${'), value, `${value} → ${text}`);
    assert.ok(!/(^|[^$])\$\{/.test(back), `${text} would be interpolated`);
  }
  assert.deepEqual(parseTableName(sourceTableText('my.schema', 'Odd "t"')), { schema: 'my.schema', table: 'Odd "t"' });
  assert.deepEqual(parseTableName(sourceTableText('public', 'Odd Name; drop')), { schema: 'public', table: 'Odd Name; drop' });
});

test('tables globs: a plain glob matches the table name, a dotted one schema.table', () => {
  assert.ok(tableSelected([], 'public', 'x'));
  assert.ok(tableSelected(['inv*'], 'public', 'invoices'));
  assert.ok(!tableSelected(['inv*'], 'public', 'accounts'));
  assert.ok(tableSelected(['sales.*'], 'sales', 'accounts'));
  assert.ok(!tableSelected(['sales.*'], 'public', 'accounts'));
  assert.ok(tableSelected(['acc?unts', 'x'], 'public', 'accounts'));
  assert.ok(!tableSelected(['a.c'], 'public', 'abc'), 'a dot is a dot, not any character');
});

test('the rendered file loads through the config loader as the proposal, and its $schema line resolves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-init-unit-'));
  try {
    const p: Proposal = {
      schema: 'my.schema',
      table: 'Odd Name; drop',
      primaryKey: ['tenant id', 'id'],
      keyFrom: 'primary key',
      cursor: 'last_update',
      cursorType: 'timestamp without time zone',
      softDelete: 'deleted_at',
      exclude: ['vals', 'odd "col"'],
    };
    const [name] = assignNames([p]);
    const file = join(dir, `${name}.yml`);
    const schemaPath = schemaPathFrom(dir);
    writeFileSync(file, renderPipelineFile(p, { name, schemaPath }));
    const text = readFileSync(file, 'utf8');
    const loaded = loadPipelineFile(file, {});
    assert.deepEqual(loaded.problems, []);
    assert.deepEqual(loaded.spec?.source, {
      schema: 'my.schema',
      table: 'Odd Name; drop',
      primaryKey: ['tenant id', 'id'],
      cursor: 'last_update',
      softDelete: 'deleted_at',
      softDeleteMode: 'keep',
      nullCursor: 'include',
      onRecreate: 'stop',
      hardDeleteMode: 'remove',
      columns: { exclude: ['vals', 'odd "col"'] },
    });
    assert.equal(loaded.spec?.target.table, 'Odd_Name_drop');
    assert.match(text, /cursor_timezone/, 'a timestamp cursor gets the hint');
    assert.match(text, /^batch_size: 10000\nschedule: "\*\/30 \* \* \* \* \*"\ntimezone: UTC\n$/m, 'the defaults spelled out');

    // Into a directory with shared defaults: those three are left to them, the table's own facts are not.
    writeFileSync(join(dir, '_defaults.yml'), 'batch_size: 77\ntimezone: Europe/Berlin\nsource:\n  cursor: other\n');
    const shared = renderPipelineFile(p, { name, schemaPath, sharedDefaults: '_defaults.yml' });
    assert.doesNotMatch(shared, /^(batch_size|schedule|timezone):/m);
    assert.match(shared, /^# batch_size, schedule, timezone: from _defaults\.yml/m);
    writeFileSync(file, shared);
    const merged = loadPipelines([file], {});
    assert.deepEqual(merged.problems, []);
    assert.deepEqual(
      [merged.specs[0].batchSize, merged.specs[0].schedule, merged.specs[0].timezone, merged.specs[0].source.cursor],
      [77, '*/30 * * * * *', 'Europe/Berlin', 'last_update'],
    );
    const line = /^# yaml-language-server: \$schema=(.+)$/m.exec(text);
    assert.ok(line, text);
    assert.equal(resolveSchemaPath(file, line[1]), PIPELINE_SCHEMA_FILE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(PIPELINE_SCHEMA_FILE, join(ROOT, 'schema', 'pipeline.schema.json'));
  assert.equal(schemaPathFrom(join(ROOT, 'pipelines')), '../schema/pipeline.schema.json', 'the shipped files spell it so');
  assert.equal(schemaPathFrom(ROOT), './schema/pipeline.schema.json');
});
