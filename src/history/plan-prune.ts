/**
 * Which history files `pgduck history prune` deletes, as data. Pure (no I/O): `--dry-run` prints
 * it, the unit tests assert on it, prune-history.ts executes it.
 *
 * The one rule: a replay rebuilds the table from the newest complete pass over the source
 * (src/replay/complete-passes.ts, src/replay/replay-plan.ts), so every file from a complete pass's
 * first batch on is what a replay may need, and every file before it is superseded by that pass. The
 * cut is therefore always the first batch of a complete pass, never after the newest one: files with
 * a seq below the cut go (backfill batches of the cut's own seq run before it and stay), everything
 * else stays. Where the history holds no complete pass, there is no safe cut and nothing goes.
 *
 * Only checkpointed batches count as proof that a pass is complete: a batch written but not yet
 * committed and checkpointed (a run in flight, or one that crashed after its Parquet file) proves
 * nothing, and since every deleted file lies before the proof, no file of a batch not yet
 * checkpointed is ever deleted.
 */
import { completePasses, type CompletePass, type PassEvidenceFile } from '../replay/complete-passes.js';
import { describeKeep, type KeepPolicy } from './keep-policy.js';

export interface PruneFile extends PassEvidenceFile {
  path: string;
  bytes: number;
  /** Last modification (ms since the epoch): when the runner wrote it. */
  mtimeMs: number;
}

export interface PruneInput {
  pipeline: string;
  table: string;
  /** Every history file, in applied order (src/parquet/history-files.ts). */
  files: PruneFile[];
  /** The seq of the last batch checkpointed (the state store's batch counter); null: no checkpoint. */
  checkpointed: number | null;
  /** The state store says the newest pass reached the end of the table (newestPassDone, src/replay/complete-passes.ts). */
  newestPassDone?: boolean;
  keep: KeepPolicy;
  /** ms since the epoch. */
  now: number;
}

export interface PrunePlan {
  pipeline: string;
  keep: KeepPolicy;
  /** Files with a seq below this go; null: nothing goes. */
  cut: number | null;
  remove: PruneFile[];
  kept: PruneFile[];
  bytesFreed: number;
  bytesKept: number;
  /** The complete passes found among the checkpointed files, newest first. */
  passes: CompletePass[];
  /** Why this cut, or why nothing goes, in words. */
  reason: string;
  /** What `pgduck replay` still does with what is kept, in words. */
  guarantee: string;
}

const DAY_MS = 86_400_000;

export function planPrune(input: PruneInput): PrunePlan {
  const { pipeline, table, files, checkpointed, keep } = input;
  const evidence = checkpointed === null ? [] : files.filter((f) => f.seq <= checkpointed);
  const passes = completePasses(evidence, input.newestPassDone === true);
  const { cut, reason } = chooseCut(input, passes);
  const remove = cut === null ? [] : files.filter((f) => f.seq < cut);
  const kept = cut === null ? files : files.filter((f) => f.seq >= cut);
  const sum = (list: PruneFile[]) => list.reduce((n, f) => n + f.bytes, 0);
  const last = files.length > 0 ? files[files.length - 1].seq : null;
  const newest = passes[0];
  const guarantee =
    files.length === 0
      ? 'no history: nothing to replay'
      : newest
        ? `pgduck replay ${pipeline} rebuilds ${table} as the runner built it from batch ${newest.start} (the newest complete pass over the source, ` +
          `complete by batch ${newest.provenBy}) through batch ${last}; every one of those files is kept`
        : `pgduck replay ${pipeline} applies every file (${files[0].seq}…${last}): the history holds no complete pass it could start from, so every file is kept`;
  return {
    pipeline,
    keep,
    cut,
    remove,
    kept,
    bytesFreed: sum(remove),
    bytesKept: sum(kept),
    passes,
    reason: remove.length > 0 || cut === null ? reason : `${reason}; no file is older than that`,
    guarantee,
  };
}

function chooseCut(input: PruneInput, passes: CompletePass[]): { cut: number | null; reason: string } {
  const { files, checkpointed, keep, pipeline } = input;
  if (files.length === 0) return { cut: null, reason: 'no history files' };
  if (keep.kind === 'all') return { cut: null, reason: 'history.keep is `all` (the default): every file is kept' };
  if (checkpointed === null || checkpointed === 0) {
    return { cut: null, reason: `no checkpoint of ${pipeline} in the state store: which batches were applied is unknown, so nothing can go` };
  }
  if (passes.length === 0) {
    return {
      cut: null,
      reason:
        'no complete pass over the source among the checkpointed files (the first pass has not reached the end of the table, ' +
        'or the files predate the metadata that says where a batch started): replay needs every file, so nothing can go',
    };
  }
  if (keep.kind === 'passes') {
    const i = Math.min(keep.passes, passes.length) - 1;
    const fewer = passes.length < keep.passes ? ` (the history holds ${passes.length})` : '';
    return {
      cut: passes[i].start,
      reason: `keeps ${describeKeep(keep)}${fewer}: from batch ${passes[i].start}, where ${i === 0 ? 'it' : 'the oldest of them'} began`,
    };
  }
  const since = input.now - keep.days * DAY_MS;
  const span = keep.days === 1 ? 'day' : `${keep.days} days`;
  const young = files.filter((f) => f.mtimeMs >= since);
  if (young.length === 0) {
    return {
      cut: passes[0].start,
      reason: `no file was written in the last ${span}: keeps the newest complete pass, which replay needs (from batch ${passes[0].start})`,
    };
  }
  const oldest = Math.min(...young.map((f) => f.seq));
  const base = passes.find((p) => p.start <= oldest);
  if (!base) {
    return {
      cut: null,
      reason: `the oldest file of the last ${span} (batch ${oldest}) precedes every complete pass: the files before it are what it builds on, so nothing can go`,
    };
  }
  return {
    cut: base.start,
    reason: `keeps every file of the last ${span} (from batch ${oldest}) and the complete pass they build on (from batch ${base.start})`,
  };
}
