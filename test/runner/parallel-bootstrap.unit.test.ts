/** The parallel bootstrap's pure parts (src/stages/parallel-bootstrap.ts): where ranges split, their batch numbers and bounds, and how their files are handed out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RangeReader, rangeBounds, rangeFirstSeqs, splitOffsets } from '../../src/stages/parallel-bootstrap.js';
import type { BootstrapStream, CutFile } from '../../src/stages/bootstrap-stream.js';
import { snapshotLiteral } from '../../src/postgres/copy-stream.js';
import type { Position } from '../../src/state/checkpoint-store.js';

test('ranges split at multiples of batch_size; the last takes the rest; too few rows: one range', () => {
  assert.deepEqual(splitOffsets(2500, 3, 500), [999, 1999], '1,000 + 1,000 + 500');
  assert.deepEqual(splitOffsets(1_000_000, 2, 100_000), [499_999]);
  assert.deepEqual(splitOffsets(1_000_001, 2, 100_000), [599_999], 'ceil: 6 batches, then 4 and a row');
  assert.deepEqual(splitOffsets(2000, 3, 500), [999], '2 ranges of 1,000: a third would be empty');
  assert.deepEqual(splitOffsets(600, 2, 500), [499], 'a full batch, then the rest');
  assert.deepEqual(splitOffsets(500, 4, 500), [], 'one batch: one stream');
  assert.deepEqual(splitOffsets(0, 4, 500), []);
  assert.deepEqual(splitOffsets(10_000, 1, 500), [], 'parallel 1: one stream');
  assert.deepEqual(splitOffsets(10, 16, 1), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (const [total, n, batch] of [
    [12_345, 5, 100],
    [99, 16, 7],
    [1_000_000, 16, 10_000],
  ])
    for (const end of splitOffsets(total, n, batch)) assert.equal((end + 1) % batch, 0, 'every range but the last holds whole batches');
});

test('each range numbers its files after the ranges before it', () => {
  assert.deepEqual(rangeFirstSeqs(1, [999, 1999], 500), [1, 3, 5]);
  assert.deepEqual(rangeFirstSeqs(41, [599_999], 100_000), [41, 47]);
  assert.deepEqual(rangeFirstSeqs(7, [], 100), [7]);
});

test('range bounds: each split read from the range before, offsets relative to it; each range starts where the one before ends', async () => {
  const asked: [string | null, number][] = [];
  const at = (n: number): Position => ({ cursor: `c${n}`, key: [`k${n}`] });
  const bounds = await rangeBounds(at(0), [999, 1999], async (from, offset) => {
    asked.push([from?.cursor ?? null, offset]);
    return at(asked.length);
  });
  assert.deepEqual(asked, [
    ['c0', 999],
    ['c1', 999],
  ]);
  assert.deepEqual(bounds, [
    { from: at(0), to: at(1) },
    { from: at(1), to: at(2) },
    { from: at(2), to: null },
  ]);
  // A split that finds no row (it cannot in one snapshot): the ranges end there, the last reads the rest.
  const short = await rangeBounds(null, [99, 199], async (from) => (from === null ? at(1) : null));
  assert.deepEqual(short, [
    { from: null, to: at(1) },
    { from: at(1), to: null },
  ]);
});

/** A range that hands out `files` (seq numbers), then ends, ends at its segment's bound, or fails. */
function fakeRange(firstSeq: number, files: number[], end: 'ended' | 'cut' | Error = 'ended') {
  const log: string[] = [];
  let i = 0;
  const range = {
    firstSeq,
    trailing: 2,
    columns: [],
    sourceColumns: [],
    peakQueued: 0,
    cutShort: end === 'cut',
    failed: end instanceof Error,
    async take(): Promise<CutFile | null> {
      if (end instanceof Error) throw end;
      const seq = files[i++];
      return seq === undefined ? null : ({ seq, rows: 1 } as CutFile);
    },
    async release() {
      log.push('release');
    },
    async close() {
      log.push('close');
    },
  };
  return { range: range as unknown as BootstrapStream, log };
}

async function drain(reader: RangeReader): Promise<number[]> {
  const seqs: number[] = [];
  for (let f = await reader.take(); f; f = await reader.take()) seqs.push(f.seq);
  return seqs;
}

test('the reader hands range 0’s files, then range 1’s, …; each range released once taken; close() closes every range', async () => {
  const a = fakeRange(1, [1, 2]);
  const b = fakeRange(3, [3, 4]);
  const c = fakeRange(5, [5]);
  const reader = new RangeReader({ ranges: [a.range, b.range, c.range] });
  assert.equal(reader.firstSeq, 1);
  assert.deepEqual(await drain(reader), [1, 2, 3, 4, 5]);
  assert.deepEqual([reader.cutShort, reader.failed], [false, false], 'the table read to its end');
  assert.deepEqual([a.log, b.log, c.log], [['release'], ['release'], []]);
  await reader.close();
  assert.deepEqual([a.log, b.log, c.log], [['release', 'close'], ['release', 'close'], ['close']]);
});

test('a range cut at its segment’s bound ends the reader there (cutShort): its whole files first, none of the later ranges’', async () => {
  const reader = new RangeReader({ ranges: [fakeRange(1, [1, 2]).range, fakeRange(3, [3], 'cut').range, fakeRange(5, [5, 6]).range] });
  assert.deepEqual(await drain(reader), [1, 2, 3]);
  assert.deepEqual([reader.cutShort, reader.failed], [true, false]);
});

test('a later range that failed ends the reader where it starts (cutShort, failed, said once); range 0’s failure is the batch’s', async () => {
  const said: number[] = [];
  const reader = new RangeReader({
    ranges: [fakeRange(1, [1, 2]).range, fakeRange(3, [3], new Error('terminated')).range, fakeRange(4, [4]).range],
    onRangeFailed: (range) => said.push(range),
  });
  assert.deepEqual(await drain(reader), [1, 2]);
  assert.deepEqual([reader.cutShort, reader.failed, said], [true, true, [1]]);
  assert.equal(await reader.take(), null, 'ended stays ended');

  const first = new RangeReader({ ranges: [fakeRange(1, [], new Error('lost')).range, fakeRange(3, [3]).range] });
  await assert.rejects(first.take(), /lost/);
});

test('a snapshot id is used only as Postgres prints one', () => {
  assert.equal(snapshotLiteral('00000003-0000001B-1'), "'00000003-0000001B-1'");
  for (const bad of ["1'; DROP TABLE t; --", '', 'abc', '00000003-0000001B-1 ']) assert.throws(() => snapshotLiteral(bad), /not a snapshot id/);
});

test('a later range that failed or ended its segment: the ranges after it are closed at the next take, the ones before it still read', async () => {
  for (const end of [new Error('terminated'), 'cut'] as const) {
    const a = fakeRange(1, [1, 2]);
    const b = fakeRange(3, [3, 4]);
    const c = fakeRange(5, [5], end);
    const d = fakeRange(6, [6, 7]);
    const reader = new RangeReader({ ranges: [a.range, b.range, c.range, d.range] });
    assert.equal((await reader.take())?.seq, 1);
    assert.deepEqual([a.log, b.log, c.log, d.log], [[], [], [], ['close']], 'the range after the one that ended is closed at once');
    const rest = await drain(reader);
    assert.deepEqual(rest, end === 'cut' ? [2, 3, 4, 5] : [2, 3, 4], 'a cut range’s whole files are read; a failed one’s are not');
    assert.deepEqual([reader.cutShort, reader.failed], [true, end !== 'cut']);
  }
});
