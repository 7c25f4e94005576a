/**
 * The parallel bootstrap (issue 11, `bootstrap: { parallel: n }`; docs/architecture.md, rule 6): the
 * bootstrap stream (bootstrap-stream.ts) read as n contiguous ranges of (cursor, pk…) order, each on
 * a COPY connection of its own, all in ONE snapshot:
 *
 *   exporter:  BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();
 *              SELECT count(*) FROM t WHERE (cursor, pk…) > (from) AND cursor <= horizon;
 *              then each split position: SELECT cursor::text, pk::text … ORDER BY cursor, pk… OFFSET per - 1 LIMIT 1
 *   range k:   BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '<id>';
 *              COPY (SELECT … WHERE (cursor, pk…) > (from_k) AND (cursor, pk…) <= (to_k) AND cursor <= horizon ORDER BY …) TO STDOUT
 *
 * Contiguous, not scattered (as pg_dump's tables or DuckDB's CTID pages are): every range holds a
 * multiple of batch_size rows (`per` = ceil(total / n / batch_size) × batch_size; the last range the
 * rest), starts where the one before ends, and numbers its files from firstSeq + k × per / batch_size.
 * So every file (seq, rows, from, last) is the one the serial stream would have cut from the same
 * snapshot: the run applies them in the same order, checkpoint per batch, and the history is the
 * same. One snapshot: the ranges read exactly the rows the count saw, so no boundary moves, and keys
 * are unique across the ranges as within one stream (keysAbsent holds).
 *
 * The run takes range 0's files in order, then range 1's, …; the later ranges read ahead meanwhile,
 * each into its own bounded queue (STREAM_AHEAD = 2 files, as the serial stream): disk holds at most
 * 2 files per range (plus one being cut each), memory one socket chunk per range. A later range with
 * a full queue waits on its send as the serial stream does. So the gain is the later ranges' first
 * files and the Postgres work done on other cores; the bound keeps disk flat in the table's size.
 *
 * Failure and segments: a range's failure (a lost connection) or its segment's end (each range is a
 * segment-bounded BootstrapStream) makes it the last range the run reaches: the ranges after it are
 * closed at the next take (their connections ended, their files removed). When the run reaches it,
 * its whole files are taken first (a failed range's are not: its take() fails), then the ranges end
 * as a whole (`cutShort`): the run starts a new stream from
 * the last file it took, after a segment's end with a new parallel split of the rest, after a range's
 * failure serially (`failed`). Range 0's failure is the serial stream's: it fails the batch. close()
 * ends every range's connection and removes every file not applied (as the serial stream's does).
 */
import type { Position } from '../state/checkpoint-store.js';
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import type { BootstrapStream, CutFile, StreamSource } from './bootstrap-stream.js';

/** `bootstrap.parallel`'s bounds (pipeline-schema.ts). */
export const PARALLEL_MAX = 16;

/**
 * Where the ranges split: the row offsets (0-based, from the stream's start) of the last row of every
 * range but the last, each a multiple of batch_size minus one. Empty: one range (the table holds no
 * more than one range's rows), read by the serial stream.
 */
export function splitOffsets(total: number, parallel: number, batchSize: number): number[] {
  if (parallel <= 1 || total <= 0) return [];
  const per = Math.ceil(total / parallel / batchSize) * batchSize;
  const ends: number[] = [];
  for (let end = per; end < total; end += per) ends.push(end - 1);
  return ends;
}

/** The batch number of each range's first file: range k starts after the files of the ranges before it. */
export function rangeFirstSeqs(firstSeq: number, ends: number[], batchSize: number): number[] {
  return [firstSeq, ...ends.map((end) => firstSeq + (end + 1) / batchSize)];
}

export interface RangeReaderOptions {
  /** The ranges' streams, in (cursor, pk…) order, each starting where the one before ends. */
  ranges: BootstrapStream[];
  /** A later range failed: said once, when the run reaches it (the run goes on serially). */
  onRangeFailed?: (range: number, err: unknown) => void;
}

/** The ranges read as one stream (see the file's comment). */
export class RangeReader implements StreamSource {
  private current = 0;
  /** Ranges before this one may still be read (dropUnreachable). */
  private reachable: number;
  private done = false;
  /** Ended before the table's end: a range ended at its segment's bound or failed. */
  cutShort = false;
  /** A range after the first failed: the run goes on with a serial stream. */
  failed = false;

  constructor(private readonly opts: RangeReaderOptions) {
    if (opts.ranges.length === 0) throw new Error('a parallel bootstrap needs at least one range');
    this.reachable = opts.ranges.length;
  }

  get firstSeq(): number {
    return this.opts.ranges[0].firstSeq;
  }
  get trailing(): number {
    return this.opts.ranges[0].trailing;
  }
  get columns(): ColumnMapping[] {
    return this.opts.ranges[0].columns;
  }
  get sourceColumns(): PgColumn[] {
    return this.opts.ranges[0].sourceColumns;
  }
  get rangeCount(): number {
    return this.opts.ranges.length;
  }
  /** Most files that waited at once in any one range (for tests and measurements). */
  get peakQueued(): number {
    return Math.max(...this.opts.ranges.map((r) => r.peakQueued));
  }

  async take(): Promise<CutFile | null> {
    this.dropUnreachable();
    while (!this.done) {
      const range = this.opts.ranges[this.current];
      let file: CutFile | null;
      try {
        file = await range.take();
      } catch (err) {
        // Range 0 is where a serial stream would be: its failure is the batch's. A later one's ends the ranges here.
        if (this.current === 0) throw err;
        this.opts.onRangeFailed?.(this.current, err);
        this.failed = true;
        this.cutShort = true;
        this.done = true;
        return null;
      }
      if (file) return file;
      if (range.cutShort || this.current === this.reachable - 1) {
        this.cutShort = range.cutShort;
        this.done = true;
        return null;
      }
      // Its last file may still be applied: its connection ends, its files stay the run's.
      await range.release();
      this.current++;
    }
    return null;
  }

  async close(): Promise<void> {
    this.done = true;
    await Promise.all(this.opts.ranges.map((r) => r.close()));
  }

  /**
   * A later range that failed or ended its segment is where the reader will end: the ranges after it
   * are never reached, so they are closed now (their connections, their snapshot, their files) instead
   * of when the run reaches that range.
   */
  private dropUnreachable(): void {
    const { ranges } = this.opts;
    for (let k = this.current + 1; k < this.reachable - 1; k++) {
      if (!ranges[k].failed && !ranges[k].cutShort) continue;
      for (const dropped of ranges.slice(k + 1, this.reachable)) void dropped.close();
      this.reachable = k + 1;
      return;
    }
  }
}

/** The positions at the split offsets, read in the exporting transaction (one query per split, each from the one before). */
export type SplitReader = (from: Position | null, offset: number) => Promise<Position | null>;

/** The ranges' bounds: [from, to] of each, `to` null for the last (the table's end). */
export async function rangeBounds(from: Position | null, ends: number[], readAt: SplitReader): Promise<{ from: Position | null; to: Position | null }[]> {
  const bounds: { from: Position | null; to: Position | null }[] = [];
  let start = from;
  let done = -1;
  for (const end of ends) {
    // Relative to the range's own start: each query scans one range, not the table up to it.
    const at = await readAt(start, end - done - 1);
    if (at === null) break; // cannot happen in one snapshot; then the last range reads the rest
    bounds.push({ from: start, to: at });
    start = at;
    done = end;
  }
  bounds.push({ from: start, to: null });
  return bounds;
}
