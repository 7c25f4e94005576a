/**
 * CsvRecordCutter: cuts a Postgres `COPY … (FORMAT csv)` byte stream into pieces of exactly `records`
 * records each (the last piece of the stream may be shorter), at record boundaries, without parsing
 * a value: the bootstrap stream's files (bootstrap-stream.ts).
 *
 * A record ends at a `\n` outside quotes. Postgres quotes any field holding a quote, a comma, a CR or
 * a newline, and doubles an embedded quote, so every quote toggles "inside quotes" and quote parity
 * alone says whether a `\n` ends a record (`"a""b"` opens, closes, opens, closes). COPY TO STDOUT ends
 * every record with `\n` (never `\r\n`). The state (inside quotes, records so far) carries across
 * chunks, so a record, a quoted field or a doubled quote may be split anywhere between two chunks.
 * The scan is Buffer.indexOf over the bytes (`"` and `\n` are single bytes in UTF-8 and never part of
 * a multi-byte character), never per value in JavaScript.
 */
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/** A slice of the stream that belongs to the current file; `ends`: it completes that file (`records` records). */
export interface CutPiece {
  bytes: Buffer;
  ends: boolean;
}

export class CsvRecordCutter {
  private inQuotes = false;
  /** Records of the current (unfinished) file. */
  private count = 0;

  constructor(private readonly records: number) {
    if (!Number.isInteger(records) || records < 1) throw new Error(`CsvRecordCutter: records must be a positive integer, got ${records}`);
  }

  /** Records in the file not yet ended: at the end of the stream, the last (short) file's count. */
  get pending(): number {
    return this.count;
  }

  /** True between a `"` that opened a field and the one that closes it: the stream cannot end here. */
  get insideQuotes(): boolean {
    return this.inQuotes;
  }

  /** The chunk as pieces, in order: each that ends a file is flagged; the last may continue in the next chunk. */
  feed(chunk: Buffer): CutPiece[] {
    const pieces: CutPiece[] = [];
    let start = 0; // where the current piece begins in this chunk
    let i = 0;
    let quote = -2; // next quote at or after i (-1: none in the rest of the chunk; -2: not searched yet)
    const len = chunk.length;
    while (i < len) {
      if (this.inQuotes) {
        const q = chunk.indexOf(QUOTE, i);
        if (q < 0) break;
        this.inQuotes = false;
        i = q + 1;
        quote = -2;
        continue;
      }
      if (quote === -2 || (quote >= 0 && quote < i)) quote = chunk.indexOf(QUOTE, i);
      const n = chunk.indexOf(NEWLINE, i);
      if (n >= 0 && (quote < 0 || n < quote)) {
        i = n + 1;
        if (++this.count === this.records) {
          pieces.push({ bytes: chunk.subarray(start, i), ends: true });
          start = i;
          this.count = 0;
        }
        continue;
      }
      if (quote < 0) break; // no newline and no quote left
      this.inQuotes = true;
      i = quote + 1;
      quote = -2;
    }
    if (start < len) pieces.push({ bytes: chunk.subarray(start), ends: false });
    return pieces;
  }
}
