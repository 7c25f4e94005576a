/**
 * The CSV data path, pure parts: which types a typed history file holds in their DuckDB type (the
 * exact round-trip list) and which stay text, the cast expressions DuckDB writes the file with, the
 * read_csv options that keep values exact, the COPY query with its trailing position columns, and
 * reading those from the end of a CSV. No database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapColumn, isRefused } from '../../src/schema/type-map.js';
import { pgColumnFromFormatType } from '../../src/schema/pg-column-from-format-type.js';
import { keepsText, mappingForFile, typedCastExpr } from '../../src/schema/typed-parquet.js';
import type { ColumnMapping } from '../../src/schema/column.js';
import { buildCsvToParquetSql, csvLineLimit, typedTransport } from '../../src/parquet/csv-to-parquet.js';
import { buildCsvExtractSql, csvBatchEnd, readTrailingFields, textLiteral } from '../../src/stages/csv-extract.js';
import { csvTempPath, isCsvTemp } from '../../src/parquet/history-files.js';
import { encodeHistoryMetadata, fileTransport, HISTORY_METADATA_FORMAT, HISTORY_METADATA_FORMATS_READ } from '../../src/parquet/history-metadata.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';

/** Every type of the type map (as format_type prints it) and whether a typed Parquet file holds it exactly in its DuckDB type. */
const ROUND_TRIP: [string, 'typed' | 'text'][] = [
  ['smallint', 'typed'],
  ['integer', 'typed'],
  ['bigint', 'typed'],
  ['oid', 'typed'],
  ['real', 'typed'],
  ['double precision', 'typed'],
  ['boolean', 'typed'],
  ['numeric(12,2)', 'typed'],
  ['numeric(38,10)', 'typed'],
  ['numeric', 'typed'], // VARCHAR: exact text either way
  ['numeric(50,5)', 'typed'],
  ['text', 'typed'],
  ['character varying(10)', 'typed'],
  ['character(3)', 'typed'],
  ['"char"', 'typed'],
  ['name', 'typed'],
  ['uuid', 'typed'],
  ['json', 'typed'],
  ['jsonb', 'typed'],
  ['timestamp without time zone', 'typed'],
  ['timestamp with time zone', 'typed'],
  ['date', 'typed'],
  ['time without time zone', 'typed'],
  ['time with time zone', 'text'], // Parquet has no time with an offset: 12:00:00+05:30 came back 06:30:00+00
  ['interval', 'text'], // Parquet's INTERVAL holds milliseconds: 1 µs came back 0
  ['bytea', 'typed'],
  ['money', 'typed'],
  ['inet', 'typed'],
  ['cidr', 'typed'],
  ['macaddr', 'typed'],
  ['macaddr8', 'typed'],
  ['bit(4)', 'typed'],
  ['bit varying', 'typed'],
  ['xml', 'typed'],
  ['tsvector', 'typed'],
  ['tsquery', 'typed'],
  ['point', 'typed'],
  ['line', 'typed'],
  ['lseg', 'typed'],
  ['box', 'typed'],
  ['path', 'typed'],
  ['polygon', 'typed'],
  ['circle', 'typed'],
  ['pg_lsn', 'typed'],
  ['regclass', 'typed'],
  ['regtype', 'typed'],
  ['regproc', 'typed'],
  ['some_enum', 'typed'],
  ['integer[]', 'typed'],
  ['numeric(10,2)[]', 'typed'],
  ['timestamp with time zone[]', 'typed'],
  ['date[]', 'typed'],
  ['uuid[]', 'typed'],
  ['bytea[]', 'typed'],
  ['text[]', 'typed'],
  ['interval[]', 'text'],
  ['time with time zone[]', 'text'],
];

const mapped = (type: string, name = 'c'): ColumnMapping => {
  const m = mapColumn(pgColumnFromFormatType(name, 1, type));
  assert.ok(!isRefused(m), `${type} is mapped`);
  return m;
};

test('the exact round-trip list: every type of the map is typed in Parquet but INTERVAL and TIMETZ (and lists of them)', () => {
  for (const [type, form] of ROUND_TRIP) {
    const m = mapped(type);
    assert.equal(keepsText(m) ? 'text' : 'typed', form, `${type} (${m.duckType})`);
  }
});

test('the cast a typed file is written with is the load expression of the type map; a text column is the CSV text itself', () => {
  for (const [type, form] of ROUND_TRIP) {
    const m = mapped(type);
    const ref = '"c7"';
    assert.equal(typedCastExpr(m, ref), form === 'typed' ? m.loadExpr(ref) : ref, type);
  }
  // The casts keep pgduck's own handling of BC dates and infinities (read_csv would turn 0044-03-15 BC into 44 AD).
  assert.match(typedCastExpr(mapped('date'), '"c1"'), /ends_with\("c1", ' BC'\)/);
  assert.match(typedCastExpr(mapped('bytea'), '"c1"'), /^from_hex\("c1"\)$/);
});

test('a typed file is read as it is, its text columns through their load expression; a text file (format 1 or 2) through every load expression', () => {
  const ts = mapped('timestamp with time zone', 'at');
  const iv = mapped('interval', 'span');
  const typed = typedTransport([ts, iv]);
  assert.deepEqual(typed, { transport: 'typed', textColumns: ['span'] });
  assert.equal(mappingForFile(ts, typed).loadExpr('"at"'), '"at"');
  assert.equal(mappingForFile(iv, typed).loadExpr('"span"'), iv.loadExpr('"span"'));
  assert.equal(mappingForFile(ts, { transport: 'text', textColumns: [] }).loadExpr('"at"'), ts.loadExpr('"at"'));
  assert.equal(mappingForFile(ts, null).loadExpr('"at"'), ts.loadExpr('"at"'));
});

test('history metadata: format 2 says the transport; format 1 (no transport) reads as text; a deletes file is format 3', () => {
  assert.equal(HISTORY_METADATA_FORMAT, 2);
  assert.deepEqual(HISTORY_METADATA_FORMATS_READ, [1, 2, 3]);
  const base = { pipeline: 'p', kind: 'batch' as const, seq: 1, source: { table: 'public.t', primaryKey: ['id'], cursor: 'u' }, columns: [] };
  const typed = JSON.parse(encodeHistoryMetadata(base, { transport: 'typed', textColumns: ['span'] }).pgduck);
  assert.deepEqual([typed.format, typed.transport, typed.textColumns], [2, 'typed', ['span']]);
  const text = JSON.parse(encodeHistoryMetadata(base).pgduck);
  assert.deepEqual([text.format, text.transport, text.textColumns], [2, 'text', undefined]);
  const deletes = JSON.parse(encodeHistoryMetadata({ ...base, kind: 'deletes', deletes: { mode: 'mark', at: '2026-01-01T00:00:00.000Z' } }).pgduck);
  assert.deepEqual([deletes.format, deletes.kind, deletes.deletes.mode], [3, 'deletes', 'mark']);
  assert.deepEqual(fileTransport({}), { transport: 'text', textColumns: [] });
  assert.deepEqual(fileTransport(typed), { transport: 'typed', textColumns: ['span'] });
});

test('read_csv reads every field as VARCHAR with nothing guessed; the Parquet file gets the metadata', () => {
  const cols = [mapped('integer', 'id'), mapped('interval', "it's"), mapped('date', 'day')];
  const sql = buildCsvToParquetSql({ path: '/p/0000000001.csv.tmp', trailing: 2, bytes: 100 }, '/p/0000000001.parquet.tmp', cols, 'typed', {
    pgduck: `{"a":"b'c"}`,
  });
  assert.match(sql, /columns = \{'c1': 'VARCHAR', 'c2': 'VARCHAR', 'c3': 'VARCHAR', 'p1': 'VARCHAR', 'p2': 'VARCHAR'\}/);
  for (const opt of ['header = false', 'skip = 1', 'auto_detect = false', 'allow_quoted_nulls = false', "nullstr = ''", 'strict_mode = true'])
    assert.ok(sql.includes(opt), opt);
  assert.match(sql, /^COPY \(SELECT CAST\("c1" AS INTEGER\) AS "id", "c2" AS "it's", /);
  assert.match(sql, /TO '\/p\/0000000001\.parquet\.tmp' \(FORMAT parquet, COMPRESSION zstd, KV_METADATA \{"pgduck": '\{"a":"b''c"\}'\}\)$/);
  const text = buildCsvToParquetSql({ path: '/p/x.csv.tmp', trailing: 0, bytes: 1 }, '/p/x.tmp', cols, 'text', {});
  assert.match(text, /^COPY \(SELECT "c1" AS "id", "c2" AS "it's", "c3" AS "day"\n/);
  // A line is never longer than its file: DuckDB's buffer follows the file, within 2 MiB…1 GiB.
  assert.deepEqual([csvLineLimit(10), csvLineLimit(5 << 20), csvLineLimit(4 * 2 ** 30)], [2 << 20, (5 << 20) + 1, 1 << 30]);
});

const spec = {
  name: 'p',
  source: { schema: 'public', table: 'Order Items', primaryKey: ['id', 'k'], cursor: 'updated_at' },
  batchSize: 500,
} as unknown as PipelineSpec;

test('the COPY query: the batch columns, then the position as hex and the horizon test; values as E-string constants (COPY takes no parameters)', () => {
  const cols = [mapped('integer', 'id'), mapped('bytea', 'b')];
  const first = buildCsvExtractSql(spec, cols, 'timestamp with time zone', ['integer', 'text'], { from: null, horizon: null, cursorNullable: true });
  assert.equal(first.trailing, 3);
  assert.equal(
    first.sql,
    [
      `SELECT "id" AS "id", encode("b", 'hex') AS "b", encode(convert_to("updated_at"::text, 'UTF8'), 'hex'), encode(convert_to("id"::text, 'UTF8'), 'hex'), encode(convert_to("k"::text, 'UTF8'), 'hex')`,
      'FROM "public"."Order Items"',
      'WHERE "updated_at" IS NOT NULL',
      'ORDER BY "public"."Order Items"."updated_at", "public"."Order Items"."id", "public"."Order Items"."k"',
      'LIMIT 500',
    ].join('\n'),
  );
  const next = buildCsvExtractSql(spec, cols, 'timestamp with time zone', ['integer', 'text'], {
    from: { cursor: '2026-01-01 00:00:00+00', key: ['7', "it's"] },
    horizon: { type: 'timestamptz', value: '2026-02-01 00:00:00+00' },
    cursorNullable: false,
  });
  assert.equal(next.trailing, 4);
  assert.ok(next.sql.includes(`"updated_at" <= ${textLiteral('2026-02-01 00:00:00+00')}::timestamptz`));
  assert.ok(
    next.sql.includes(
      `WHERE ("updated_at", "id", "k") > (${textLiteral('2026-01-01 00:00:00+00')}::timestamp with time zone, ${textLiteral('7')}::integer, ${textLiteral("it's")}::text)`,
    ),
  );
  assert.equal(textLiteral("it's"), `E'it''s'`);
  assert.equal(textLiteral('back\\slash é'), `E'back\\\\slash é'`);
});

test("the batch's end is read from the CSV's last record only", () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-csv-'));
  try {
    const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
    const path = join(dir, '0000000001.csv.tmp');
    // A quoted field with commas, quotes and a newline before the trailing fields; a long first record so the end is read in steps.
    writeFileSync(path, `1,"${'x'.repeat(10_000)}",${hex('a')},${hex('1')},t\n2,"q,""\n,z",${hex('2026-01-01 00:00:00+00')},${hex('é,k')},t\n`);
    const fields = readTrailingFields(path, 3);
    assert.deepEqual(fields, [hex('2026-01-01 00:00:00+00'), hex('é,k'), 't']);
    assert.deepEqual(csvBatchEnd(fields, 1, true), { cursor: '2026-01-01 00:00:00+00', key: ['é,k'] });
    // Above the horizon, or a NULL in a position column: the row-array path reads the batch.
    assert.equal(csvBatchEnd([hex('a'), hex('b'), 'f'], 1, true), null);
    assert.equal(csvBatchEnd([hex('a'), null], 1, false), null);
    // An empty text key is printed quoted: "" is '' (not NULL).
    writeFileSync(path, `1,x,${hex('a')},""\n`);
    assert.deepEqual(csvBatchEnd(readTrailingFields(path, 2), 1, false), { cursor: 'a', key: [''] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('leftover CSVs are recognised by pgduck’s own name only', () => {
  assert.equal(csvTempPath('/x/parquet', 'orders', 42), '/x/parquet/.tmp/orders/0000000042.csv.tmp');
  assert.ok(isCsvTemp('0000000042.csv.tmp'));
  for (const name of ['42.csv.tmp', '0000000042.csv', 'notes.csv.tmp', '0000000042.parquet', '0000000042.parquet.tmp', 'x0000000042.csv.tmp'])
    assert.ok(!isCsvTemp(name), name);
});
