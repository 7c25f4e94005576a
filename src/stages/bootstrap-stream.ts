/**
 * The bootstrap as one streaming read (issue 11; docs/architecture.md, rule 6): while a pipeline's
 * bootstrap is not done, extract reads the table through ONE
 *
 *   COPY (SELECT <columns>, <position as hex>… FROM t WHERE (cursor, pk…) > (from) AND cursor <= <horizon> ORDER BY cursor, pk…) TO STDOUT (FORMAT csv)
 *
 * on a Postgres connection of its own, instead of a LIMIT query re-planned per batch. The byte stream
 * is cut (csv-record-cutter.ts) into `<seq>.csv.tmp` files of exactly batch_size records, each one
 * batch, the last one shorter; each file's position is its last record's trailing columns, read as a
 * keyset batch's are (csv-extract.ts).
 *
 * Bounded: at most `ahead` (2) finished files wait to be taken; when they do, the cutter stops taking
 * bytes from the COPY, which stops reading its socket, so Postgres blocks on its send (backpressure):
 * memory and disk do not follow the table, while Postgres goes on streaming as DuckDB applies the
 * batch before. Taking a file makes room.
 *
 * Contract: `take()` is called by one reader at a time (the runner reads batches in order), and
 * returns the files in stream order, then null once the stream ended and every file was taken.
 * A failure of the COPY (the connection lost, the table dropped) rejects the next `take()`.
 *
 * Segments: a stream ends on its own at the first file boundary after `segmentMs` (streamSegmentMs:
 * 60 s, or half the session's `statement_timeout` when that is shorter), or, when no boundary came by
 * 1.5 × `segmentMs` (a slow batch holding the queue full) and one file is whole, where it is, the
 * file being cut dropped (its rows are the next stream's first); its COPY closed; `cutShort`
 * then says the table was not read to the end, and the run starts a new stream from the last file's
 * position. Bounded so that the stream's ACCESS SHARE lock, which makes DDL (and the writers queued
 * behind that DDL) wait, and its snapshot, which holds vacuum's horizon back, last one segment, not
 * the whole bootstrap; and so that a role's `statement_timeout` never cancels it.
 * `close()` ends the COPY and its connection and removes every file the stream made that the run has
 * not turned into Parquet (those are never applied: the checkpoint stays at the last committed batch,
 * rule 5); safe to call at any time and more than once. A crash leaves `*.csv.tmp` files, which the
 * next run sweeps before its first batch (sweepCsvLeftovers).
 *
 * Parallel: `bootstrap.parallel` composes n of these, each bounded above and reading one exported
 * snapshot, into one StreamSource (parallel-bootstrap.ts); `release()` ends a range whose files were
 * all taken without removing them.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopyStream } from '../postgres/copy-stream.js';
import { csvTempPath } from '../parquet/history-files.js';
import { CSV_PREFIX } from '../parquet/csv-to-parquet.js';
import type { Position } from '../state/checkpoint-store.js';
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import { CsvRecordCutter, type CutPiece } from './csv-record-cutter.js';
import { csvBatchEnd, readTrailingFields } from './csv-extract.js';

/** One batch's file, cut from the stream. */
export interface CutFile {
  seq: number;
  path: string;
  rows: number;
  /** The file's size. */
  bytes: number;
  /** Where the batch starts (exclusive): the previous file's last position, or the stream's start. */
  from: Position | null;
  /** Its last record's position; every streamed row is at or below the horizon, so it is safe too. */
  last: Position;
  /** The stream's last file, shorter than batch_size (a stream whose rows fill its last file ends with no short one). */
  short: boolean;
}

export interface BootstrapStreamOptions {
  copy: CopyStream;
  batchSize: number;
  parquetDir: string;
  pipeline: string;
  /** The batch number of the first file. */
  firstSeq: number;
  /** Where the stream starts (exclusive). */
  from: Position | null;
  /** The trailing position columns of each record (cursor, key…, as hex). */
  trailing: number;
  keyCount: number;
  /** Finished files that may wait to be taken before the COPY is paused. */
  ahead?: number;
  /** The stream ends at the first file boundary after this long (see Segments above); absent: at the table's end only. */
  segmentMs?: number;
  /** The columns the stream reads, as the catalog described them when it started: every batch of it carries them. */
  columns: ColumnMapping[];
  sourceColumns: PgColumn[];
}

export const STREAM_AHEAD = 2;

/**
 * What extract takes stream batches from: one BootstrapStream, or a parallel bootstrap's ranges read
 * as one (parallel-bootstrap.ts). Same contract as BootstrapStream's (see the file's comment).
 */
export interface StreamSource {
  /** The batch number of the first file. */
  readonly firstSeq: number;
  readonly trailing: number;
  readonly columns: ColumnMapping[];
  readonly sourceColumns: PgColumn[];
  /** Ended before the table's end (a segment's bound, or a parallel range that failed): a new stream goes on from the last file. */
  readonly cutShort: boolean;
  take(): Promise<CutFile | null>;
  close(): Promise<void>;
}

/** The run memory's stream slot holds a source (not `none`, `ended` or undecided). */
export function isStreamSource(value: StreamSource | string | null): value is StreamSource {
  return typeof value === 'object' && value !== null;
}

export class BootstrapStream implements StreamSource {
  private readonly cutter: CsvRecordCutter;
  private readonly queue: CutFile[] = [];
  /** The files made that may still exist, by batch number (pruned as the run moves on: it does not grow with the table). */
  private readonly made = new Map<number, string>();
  private readonly ahead: number;
  private seq: number;
  private from: Position | null;
  private fd: number | null = null;
  /** Bytes written to the file being cut. */
  private fdBytes = 0;
  private pieces: CutPiece[] = [];
  private resumeWrite: (() => void) | null = null;
  private ended = false;
  private readonly started = Date.now();
  /** Ends the segment wherever it is at 1.5 × segmentMs, still under a statement_timeout (segmentMs ≤ half of it). */
  private hardStop: NodeJS.Timeout | null = null;
  /** Ended at a segment's bound, not at the table's end: a new stream goes on from the last file. */
  cutShort = false;
  private closed = false;
  private error: unknown = null;
  private waiter: (() => void) | null = null;
  /** Most finished files that waited at once (for tests and measurements). */
  peakQueued = 0;
  /** Rows cut so far. */
  rowsCut = 0;

  get firstSeq(): number {
    return this.opts.firstSeq;
  }
  /** Its COPY failed (the next take() throws); not after close() or a segment's end. */
  get failed(): boolean {
    return this.error !== null;
  }
  get trailing(): number {
    return this.opts.trailing;
  }
  get columns(): ColumnMapping[] {
    return this.opts.columns;
  }
  get sourceColumns(): PgColumn[] {
    return this.opts.sourceColumns;
  }

  constructor(private readonly opts: BootstrapStreamOptions) {
    this.cutter = new CsvRecordCutter(opts.batchSize);
    this.ahead = opts.ahead ?? STREAM_AHEAD;
    this.seq = opts.firstSeq;
    this.from = opts.from;
    mkdirSync(dirname(csvTempPath(opts.parquetDir, opts.pipeline, opts.firstSeq)), { recursive: true });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        try {
          this.pieces.push(...this.cutter.feed(chunk));
          this.resumeWrite = done;
          this.pump();
        } catch (err) {
          done(err as Error);
        }
      },
      final: (done) => {
        try {
          if (this.cutter.insideQuotes) throw new Error('the COPY stream ended inside a quoted field');
          if (this.fd !== null) this.finishFile(this.cutter.pending, true);
          done();
        } catch (err) {
          done(err as Error);
        }
      },
    });
    if (opts.segmentMs !== undefined) {
      // Never before the segment's first whole file: a segment that cut none would leave the next stream where this one began.
      this.hardStop = setTimeout(() => {
        if (this.seq > opts.firstSeq) this.endSegment();
      }, opts.segmentMs * 1.5);
      this.hardStop.unref();
    }
    pipeline(opts.copy.stream, sink).then(
      () => {
        this.clearHardStop();
        this.ended = true;
        this.wake();
      },
      (err: unknown) => {
        // The COPY closed at a segment's bound ends in an error that means nothing: every file cut is whole.
        if (!this.closed && !this.cutShort) this.error ??= err;
        this.wake();
      },
    );
  }

  /** The next file in stream order; null once the stream ended and every file was taken. */
  async take(): Promise<CutFile | null> {
    for (;;) {
      if (this.error) throw this.error;
      const file = this.queue.shift();
      if (file) {
        // Two files back is done: the run takes a file (read-ahead) while applying the one before, whose CSV the parquet stage removed.
        for (const seq of this.made.keys()) if (seq < file.seq - 1) this.made.delete(seq);
        this.pump();
        return file;
      }
      if (this.ended || this.cutShort) return null;
      if (this.closed) throw new Error('the bootstrap stream was closed');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /**
   * End the connection of a stream whose every file was taken (take() returned null), leaving those
   * files to the run (the one being applied is still read); close() may still follow.
   */
  async release(): Promise<void> {
    this.clearHardStop();
    await this.opts.copy.close();
  }

  async close(): Promise<void> {
    this.clearHardStop();
    this.closed = true;
    this.pieces = [];
    this.resumeWrite = null;
    await this.opts.copy.close();
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    // Files the run took are removed by the parquet stage once converted; these were never applied.
    for (const path of this.made.values()) rmSync(path, { force: true });
    this.queue.length = 0;
    this.wake();
  }

  /** Write the pending pieces until the queue is full; the COPY's next chunk is asked for once all are written. */
  private pump(): void {
    if (this.closed || this.cutShort) return;
    while (this.pieces.length > 0 && this.queue.length < this.ahead) {
      const piece = this.pieces.shift() as CutPiece;
      if (this.fd === null) {
        const path = csvTempPath(this.opts.parquetDir, this.opts.pipeline, this.seq);
        this.made.set(this.seq, path);
        this.fd = openSync(path, 'w');
        // The line read_csv skips (csv-to-parquet.ts: a first field's byte-order mark would be dropped).
        this.fdBytes = writeSync(this.fd, CSV_PREFIX);
      }
      this.fdBytes += writeSync(this.fd, piece.bytes);
      if (piece.ends) this.finishFile(this.opts.batchSize, false);
    }
    if (this.pieces.length === 0 && this.resumeWrite) {
      const done = this.resumeWrite;
      this.resumeWrite = null;
      done();
    }
  }

  private finishFile(rows: number, short: boolean): void {
    closeSync(this.fd as number);
    this.fd = null;
    const path = csvTempPath(this.opts.parquetDir, this.opts.pipeline, this.seq);
    const last = csvBatchEnd(readTrailingFields(path, this.opts.trailing), this.opts.keyCount, false);
    // The stream reads NOT NULL cursor and key columns only (streamFits).
    if (last === null) throw new Error(`${path}: a NULL in the position columns of a streamed record`);
    this.queue.push({ seq: this.seq, path, rows, bytes: this.fdBytes, from: this.from, last, short });
    this.peakQueued = Math.max(this.peakQueued, this.queue.length);
    this.rowsCut += rows;
    this.seq++;
    this.from = last;
    if (!short && this.opts.segmentMs !== undefined && Date.now() - this.started >= this.opts.segmentMs) this.endSegment();
    this.wake();
  }

  /**
   * End the segment: at a file boundary, or (the hard stop) wherever the cutting is, the unfinished
   * file removed. Either way the bytes after the last whole file are read again by the next stream,
   * from that file's last position.
   */
  private endSegment(): void {
    this.clearHardStop();
    if (this.closed || this.ended || this.cutShort) return;
    this.cutShort = true;
    this.pieces = [];
    this.resumeWrite = null;
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
      const path = this.made.get(this.seq);
      this.made.delete(this.seq);
      if (path) rmSync(path, { force: true });
    }
    void this.opts.copy.close();
    this.wake();
  }

  private clearHardStop(): void {
    if (this.hardStop) clearTimeout(this.hardStop);
    this.hardStop = null;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
