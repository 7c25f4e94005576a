/** The README's type table is TYPE_TABLE, `plan` prints the same table, and the per-column report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, createWorkspace, runCli } from '../support/workspace.js';
import { readTypeTable } from '../../src/schema/readme-type-table.js';
import { TYPE_TABLE, typeTableMarkdown, typesMissingFromTable } from '../../src/schema/type-map.js';
import { columnMappingRows, formatColumnMapping, formatTypeTable } from '../../src/schema/column-mapping-report.js';

test('README "Types" table matches TYPE_TABLE (regenerate: npx tsx scripts/readme-types.ts)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  assert.equal(readTypeTable(readme), typeTableMarkdown());
  // The sections sit after "Pipeline files", in this order.
  const at = (h: string) => readme.indexOf(`\n## ${h}\n`);
  assert.ok(at('Pipeline files') < at('Types') && at('Types') < at('Schema drift') && at('Schema drift') < at('Configuration: environment and flags'));
});

test('the type table shows every type the mapping knows by name, and what the mapping does with it', () => {
  assert.deepEqual(typesMissingFromTable(), []);
  const row = (postgres: string) => TYPE_TABLE.find((r) => r.postgres.split(', ').includes(postgres));
  // Read from the mapping itself: the rows say what mapColumn does, not a second copy of it.
  assert.deepEqual(row('bigint'), { postgres: 'smallint, integer, bigint', transport: 'int16, int32, int64', duckdb: 'SMALLINT, INTEGER, BIGINT', note: '' });
  assert.equal(row('lseg')?.note, 'exact text (no DuckDB geometric type)');
  assert.match(row('char(n)')?.note ?? '', /^char\(n\): blank-padded/);
});

test('plan prints one line per TYPE_TABLE row', () => {
  const lines = formatTypeTable();
  assert.equal(lines.length, TYPE_TABLE.length);
  TYPE_TABLE.forEach((r, i) => {
    assert.ok(lines[i].includes(r.postgres) && lines[i].includes(r.duckdb), lines[i]);
  });
});

test('`pgduck plan` prints the type table, no database needed', async () => {
  const ws = createWorkspace();
  try {
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\n');
    const res = await runCli(['plan'], { ...ws.env('postgres://nowhere.invalid/x') });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.includes(`type mapping (Postgres → DuckDB)\n${formatTypeTable().join('\n')}\n`), res.stdout);
  } finally {
    ws.cleanup();
  }
});

test('per-column mapping: every column listed, notes for exact-text types, refusals named', () => {
  const base = { typtype: 'b', elemTypname: null, elemTyptype: null, numericPrecision: null, numericScale: null, notNull: false, generated: false };
  const rows = columnMappingRows([
    { ...base, name: 'id', attnum: 1, declaredType: 'bigint', baseType: 'bigint', typname: 'int8' },
    { ...base, name: 'search', attnum: 2, declaredType: 'tsvector', baseType: 'tsvector', typname: 'tsvector' },
    { ...base, name: 'total', attnum: 3, declaredType: 'shop.amount', baseType: 'numeric(12,2)', typname: 'numeric', numericPrecision: 12, numericScale: 2 },
    { ...base, name: 'doubled', attnum: 4, declaredType: 'integer', baseType: 'integer', typname: 'int4', generated: true },
    { ...base, name: 'r', attnum: 5, declaredType: 'record', baseType: 'record', typname: 'record', typtype: 'p' },
  ]);
  assert.deepEqual(
    rows.map((r) => [r.column, r.postgres, r.duckdb, r.refused]),
    [
      ['id', 'bigint', 'BIGINT', false],
      ['search', 'tsvector', 'VARCHAR', false],
      ['total', 'shop.amount (numeric(12,2))', 'DECIMAL(12,2)', false],
      ['doubled', 'integer', 'INTEGER', false],
      ['r', 'record', null, true],
    ],
  );
  assert.match(rows[1].note, /exact text \(no DuckDB equivalent\)/);
  assert.match(rows[3].note, /generated column/);
  const text = formatColumnMapping(rows);
  assert.match(text[4], /^ {2}r +record +→ REFUSED +refused: pseudo-type record cannot be stored$/);
});
