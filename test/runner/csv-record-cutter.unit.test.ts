/**
 * The bootstrap stream's cutter (src/stages/csv-record-cutter.ts): files of exactly n records, cut at
 * record boundaries whatever the chunking, through quotes, doubled quotes, commas, CRs and newlines
 * inside fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvRecordCutter } from '../../src/stages/csv-record-cutter.js';

/** Records as Postgres writes them (a field with a quote, comma, CR or newline quoted, quotes doubled). */
const field = (v: string | null) => (v === null ? '' : v === '' || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const record = (values: (string | null)[]) => `${values.map(field).join(',')}\n`;

const RECORDS = [
  ['1', 'plain', 'ab'],
  ['2', 'a "quoted" word', '0a'],
  ['3', 'comma, inside', '""'],
  ['4', 'line\nbreak', null],
  ['5', 'cr\r\nlf', 'x'],
  ['6', '"', '""'],
  ['7', '', 'end,\n"'],
  ['8', '\n', '\n\n'],
  ['9', 'ünïcødé ✓', 'y'],
  ['10', 'last', 'z'],
].map(record);

/** Feed `input` in chunks of `size` bytes; the files the pieces make, in order (the last one possibly unfinished). */
function cut(input: Buffer, records: number, size: number): { files: string[]; ended: boolean[]; pending: number; insideQuotes: boolean } {
  const cutter = new CsvRecordCutter(records);
  const files: Buffer[][] = [[]];
  const ended: boolean[] = [];
  for (let at = 0; at < input.length; at += size) {
    for (const piece of cutter.feed(input.subarray(at, at + size))) {
      files[files.length - 1].push(piece.bytes);
      if (piece.ends) {
        ended.push(true);
        files.push([]);
      }
    }
  }
  const out = files.map((parts) => Buffer.concat(parts).toString('utf8'));
  if (out[out.length - 1] === '') out.pop();
  return { files: out, ended, pending: cutter.pending, insideQuotes: cutter.insideQuotes };
}

test('files of exactly n records at every chunk size, the last one shorter', () => {
  const input = Buffer.from(RECORDS.join(''), 'utf8');
  for (const n of [1, 2, 3, 4, 10, 11]) {
    const expected: string[] = [];
    for (let i = 0; i < RECORDS.length; i += n) expected.push(RECORDS.slice(i, i + n).join(''));
    for (let size = 1; size <= input.length; size++) {
      const got = cut(input, n, size);
      assert.deepEqual(got.files, expected, `n=${n} chunk=${size}`);
      assert.equal(got.ended.length, Math.floor(RECORDS.length / n), `n=${n} chunk=${size}: full files`);
      assert.equal(got.pending, RECORDS.length % n, `n=${n} chunk=${size}: records of the last file`);
      assert.equal(got.insideQuotes, false);
    }
  }
});

test('a record split at every byte position across two chunks', () => {
  const input = Buffer.from(RECORDS.join(''), 'utf8');
  const expected = [RECORDS.slice(0, 3).join(''), RECORDS.slice(3, 6).join(''), RECORDS.slice(6, 9).join(''), RECORDS.slice(9).join('')];
  for (let at = 0; at <= input.length; at++) {
    const cutter = new CsvRecordCutter(3);
    const files: string[] = [''];
    for (const chunk of [input.subarray(0, at), input.subarray(at)])
      for (const piece of cutter.feed(chunk)) {
        files[files.length - 1] += piece.bytes.toString('latin1');
        if (piece.ends) files.push('');
      }
    assert.deepEqual(
      files.filter((f) => f !== '').map((f) => Buffer.from(f, 'latin1').toString('utf8')),
      expected,
      `split at ${at}`,
    );
    assert.equal(cutter.pending, 1);
  }
});

test('an unfinished quoted field is reported, and no record is counted inside it', () => {
  const cutter = new CsvRecordCutter(1);
  const pieces = cutter.feed(Buffer.from('1,"open\n\n,still'));
  assert.deepEqual(
    pieces.map((p) => p.ends),
    [false],
  );
  assert.equal(cutter.insideQuotes, true);
  assert.equal(cutter.pending, 0);
  const rest = cutter.feed(Buffer.from('""x"\n2,b\n'));
  assert.deepEqual(
    rest.map((p) => [p.bytes.toString(), p.ends]),
    [
      ['""x"\n', true],
      ['2,b\n', true],
    ],
  );
});

test('many records in one chunk: counts per file exact', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => record([String(i), i % 7 === 0 ? `q"${i}"\n,` : `v${i}`, i % 3 === 0 ? '' : null]));
  const input = Buffer.from(rows.join(''));
  for (const size of [input.length, 4096, 777]) {
    const got = cut(input, 128, size);
    assert.equal(got.files.length, 8, `chunk=${size}`);
    got.files.forEach((f, i) => assert.equal(f, rows.slice(i * 128, (i + 1) * 128).join(''), `file ${i}, chunk=${size}`));
    assert.equal(got.pending, 1000 - 7 * 128);
  }
});
