/**
 * Rows of Postgres wire text → an Arrow table, column by column, from typed arrays.
 * Arrow's per-value builders are slow and take milliseconds for timestamps (docs/architecture.md#facts-parquet-and-arrow); building
 * each vector's buffers directly keeps a 100k-row batch well under a second.
 */
import { Bool, Float32, Float64, Int16, Int32, Int64, Table, Utf8, makeData, makeVector, type DataType, type Vector } from 'apache-arrow';
import type { Transport } from '../schema/column.js';

export type WireRow = (string | null)[];

export interface ArrowColumnSpec {
  name: string;
  transport: Transport;
}

export function buildArrowTable(columns: ArrowColumnSpec[], rows: WireRow[]): Table {
  const vectors: Record<string, Vector> = {};
  columns.forEach((col, index) => {
    vectors[col.name] = buildVector(col.transport, rows, index);
  });
  return new Table(vectors);
}

function buildVector(transport: Transport, rows: WireRow[], index: number): Vector {
  const n = rows.length;
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (rows[i][index] === null) nullCount++;
    else validity[i >> 3] |= 1 << (i & 7);
  }
  const nullBitmap = nullCount > 0 ? validity : undefined;
  const fixed = <T extends DataType>(type: T, data: ArrayLike<number | bigint>) =>
    makeVector(makeData({ type, length: n, nullCount, nullBitmap, data } as never)) as Vector;

  switch (transport) {
    case 'int16':
      return fixed(new Int16(), fillNumbers(new Int16Array(n), rows, index, Number));
    case 'int32':
      return fixed(new Int32(), fillNumbers(new Int32Array(n), rows, index, Number));
    case 'float32':
      return fixed(new Float32(), fillNumbers(new Float32Array(n), rows, index, Number));
    case 'float64':
      // Number() reads 'NaN', 'Infinity', '-Infinity' exactly as Postgres prints them.
      return fixed(new Float64(), fillNumbers(new Float64Array(n), rows, index, Number));
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = rows[i][index];
        if (v !== null) out[i] = BigInt(v);
      }
      return fixed(new Int64(), out);
    }
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (rows[i][index] === 't') bits[i >> 3] |= 1 << (i & 7);
      return makeVector(makeData({ type: new Bool(), length: n, nullCount, nullBitmap, data: bits }));
    }
    case 'utf8': {
      const offsets = new Int32Array(n + 1);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = rows[i][index];
        if (v !== null) total += Buffer.byteLength(v, 'utf8');
        offsets[i + 1] = total;
      }
      const data = Buffer.allocUnsafe(total);
      for (let i = 0; i < n; i++) {
        const v = rows[i][index];
        if (v !== null) data.write(v, offsets[i], 'utf8');
      }
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      return makeVector(makeData({ type: new Utf8(), length: n, nullCount, nullBitmap, valueOffsets: offsets, data: bytes }));
    }
  }
}

function fillNumbers<A extends { [i: number]: number }>(out: A, rows: WireRow[], index: number, parse: (s: string) => number): A {
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i][index];
    if (v !== null) out[i] = parse(v);
  }
  return out;
}
