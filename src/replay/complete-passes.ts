/**
 * Where the complete passes over the source begin, in a pipeline's history: the one rule both
 * `pgduck replay` (which rebuilds from the newest one) and `pgduck history prune` (which may delete
 * only what lies before a kept one) read the history by, so the two cannot disagree about what a
 * replay needs (docs/architecture.md#parquet-history).
 *
 * A pass begins with a batch read from no position (`from: null`: the first run, or the first after a
 * `reset`). It is complete when a later batch, before the next pass began, came back short (`drained`)
 * or was read after the checkpoint said the pass had reached the end of the table (`passDone`), or
 * when the next pass's first batch was itself read after that (its `passDone`). A complete pass
 * re-read every row the source then held, so every file before it is superseded by it. A pass still
 * under way, or one abandoned by a reset before it drained, is not complete: the table still holds
 * rows it never re-read. Files without metadata (written before pgduck recorded where a batch started)
 * prove nothing, and neither do backfill or deletes files. A deletes file before a complete pass is
 * superseded by it like any other (the rows it removed were gone when the pass read the table); one
 * after it is replayed in its place.
 *
 * A pass whose last batch came back full ends with an empty read, which writes no file: until a later
 * batch is written, the files alone cannot prove it. The state store can (`newestDone`: the current
 * generation's checkpoint has its bootstrap flag and rows loaded, so the newest pass start is its first
 * batch and the pass reached the end). Without it a rebuild after `reset --drop-target` took the pass
 * before, bringing back rows deleted before the reset (found by review).
 */
import type { HistoryMetadata } from '../parquet/history-metadata.js';
import type { HistoryKind } from '../parquet/history-files.js';

export interface PassEvidenceFile {
  /** Only batches are evidence: backfill and deletes files (src/parquet/history-files.ts) read no pass. */
  kind: HistoryKind;
  seq: number;
  meta: Pick<HistoryMetadata, 'from' | 'drained' | 'passDone'> | null;
}

export interface CompletePass {
  /** Seq of the pass's first batch (read from the beginning of the table). */
  start: number;
  /** Seq of the batch that proves it reached the end of the table. */
  provenBy: number;
}

/** Every complete pass, newest first. `newestDone`: the state store says the newest pass reached the end (see above). */
export function completePasses(files: readonly PassEvidenceFile[], newestDone = false): CompletePass[] {
  const batches = files.filter((f) => f.kind === 'batch').sort((a, b) => a.seq - b.seq);
  const out: CompletePass[] = [];
  // The oldest proof seen so far (walking backwards) that the pass in hand reached the end of the table.
  let proof: number | null = null;
  for (let i = batches.length - 1; i >= 0; i--) {
    const f = batches[i];
    if (f.meta?.drained) proof = f.seq;
    if (f.meta && f.meta.from === null) {
      if (proof !== null) out.push({ start: f.seq, provenBy: proof });
      // Read after the previous pass had ended: proof for that one.
      proof = f.meta.passDone === true ? f.seq : null;
    } else if (f.meta?.passDone) proof = f.seq;
  }
  const newest = batches.filter((f) => f.meta && f.meta.from === null).at(-1);
  if (newestDone && newest && (out.length === 0 || out[0].start < newest.seq)) out.unshift({ start: newest.seq, provenBy: batches[batches.length - 1].seq });
  return out;
}

/**
 * The history is known to hold no pass start: no batch was read from the beginning of the table, and
 * every batch says how it was read (after a position, a NULL-cursor sweep, a repair's re-read). Such a
 * history lacks the files a rebuild needs first (PARQUET_DIR changed, or its first files moved or
 * deleted): rows no file holds would be missing, and the runner, past them, never reads them again.
 * A batch without that record (written before pgduck recorded where a batch started) may have begun a
 * pass: not known, false.
 */
export function knownToHoldNoPassStart(files: readonly { kind: HistoryKind; meta: Pick<HistoryMetadata, 'from' | 'nullCursor' | 'repair'> | null }[]): boolean {
  return files.every(
    (f) =>
      f.kind !== 'batch' || (f.meta !== null && f.meta.from !== null && (f.meta.from !== undefined || f.meta.nullCursor === true || f.meta.repair === true)),
  );
}

/** What the state store says of the newest pass, for completePasses: the current generation's bootstrap done, with rows loaded. */
export function newestPassDone(checkpoint: { bootstrapDone: boolean; rowsTotal: number } | null): boolean {
  return checkpoint?.bootstrapDone === true && checkpoint.rowsTotal > 0;
}
