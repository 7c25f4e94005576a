/**
 * Compare a source table with its target by key range, narrowing down to the differing keys.
 *
 *   1. cut the whole table into parts of about equal row count at keys taken from the target and
 *      digest every part on both sides (one pass over each table): all equal → done;
 *   2. cut each part whose digests differ the same way (boundaries taken from the side with more rows
 *      there), digest its parts on both sides (one pass over the part), and descend only into parts
 *      whose digests differ;
 *   3. a part missing on one side is reported as such (its row count, and the first keys);
 *      parts of at most `leafRows` rows (leaves) are cut once more into parts of about
 *      `leafRows / 64` of the target's keys and digested on both sides over those leaves only
 *      (compareLeaves), and only the parts still differing are fetched from both sides (key + row
 *      digest only) and compared key by key; for a changed row the differing columns are named.
 *
 * How many parts: a digest pass reads every row of the range it cuts whatever the number of parts
 * (bucketing is a binary search, range-digest-query.ts), so a range is cut as finely as leaves of
 * about `leafRows / 4` rows, up to `maxFanout` parts (at least `fanout`). Few wide passes beat many
 * narrow ones when differences are scattered: with 32 parts per level, 1,000 hard deletes spread over
 * a table made every part differ at every level and reconcile re-read the table about 6 times
 * (docs/architecture.md#facts-reconcile-cost).
 *
 * Memory is bounded by `maxFanout` digests and `leafRows` × 64 rows per side (leaves next to each
 * other in key order are fetched together); work by one pass per level over the ranges that differ. Differences are counted exactly unless more than `limit` are found,
 * in which case the search stops early and the counts are lower bounds (`truncated`).
 */
import type { VerifyShape } from './verify-shape.js';
import { pausePoint } from '../faults/fault-point.js';
import { EMPTY_DIGEST, WHOLE_TABLE, sameDigest, type KeyRange, type KeyTuple, type KeyedRow, type RangeDigest, type RangeSide } from './range-side.js';

export interface VerifyOptions {
  /** The fewest parts a differing range is cut into. */
  fanout: number;
  /** The most parts one digest pass cuts a range into (ranges are cut into leaves of about leafRows / 4 rows). */
  maxFanout: number;
  /** A differing range of at most this many rows (per side) is compared row by row. */
  leafRows: number;
  /** Stop after this many differing keys. */
  limit: number;
  /**
   * Rows the target lacks are not looked for (nor counted against `limit`): reconcile's, which acts on
   * the keys the target holds and the source does not. Found by review: more than a round of missing
   * keys before the gone ones (rows imported with old cursors, a target far behind) filled every round,
   * and the hard deletes after them were never removed while the reconcile said done.
   */
  ignoreMissing: boolean;
}

export const DEFAULT_VERIFY_OPTIONS: VerifyOptions = { fanout: 32, maxFanout: 4096, leafRows: 512, limit: 100, ignoreMissing: false };

/** Leaves fetched in one query per side (at most leafRows × LEAF_BATCH rows). */
const LEAF_BATCH = 64;

/** Key values one digest query may carry as boundaries (Postgres allows 65,535 bound parameters). */
const MAX_BOUNDARY_VALUES = 32_000;

/**
 * Both sides' answers, run at once; a failure is thrown only once both have settled. With
 * Promise.all a Postgres error (a row level security refusal) rejected at once while DuckDB's query
 * still ran, and the caller closed the DuckDB instance under it: the process died of SIGSEGV, with
 * nothing printed (found running the suite).
 */
async function bothSides<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
  return [x.value, y.value];
}

const sameKey = (a: KeyTuple, b: KeyTuple) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The digest of these rows as RangeDigestQuery.digest sums it in SQL (range-side.ts): the count, and
 * the sums of each row digest's first and second 15 hex digits (60 bits) as decimal text.
 */
export function digestOf(rows: readonly Pick<KeyedRow, 'digest'>[]): RangeDigest {
  let h1 = 0n;
  let h2 = 0n;
  for (const r of rows) {
    h1 += BigInt(`0x${r.digest.slice(0, 15)}`);
    h2 += BigInt(`0x${r.digest.slice(15, 30)}`);
  }
  return { rows: rows.length, h1: h1.toString(), h2: h2.toString() };
}

export type DifferenceKind = 'missing' | 'extra' | 'changed' | 'duplicate';

export interface Difference {
  /**
   * missing: in the source, not in the target; extra: in the target only; changed: values differ;
   * duplicate: the target holds the key more than once (possible only without a PRIMARY KEY: `target.key_index: false`).
   */
  kind: DifferenceKind;
  /** Key column → value as text. */
  key: Record<string, string>;
  /** For `changed`: the columns whose values differ. */
  columns?: string[];
  /** The key as verify compares it (key-order.ts): what `verify --repair` reads and removes by. */
  tuple: KeyTuple;
}

export interface TableVerdict {
  equal: boolean;
  sourceRows: number;
  targetRows: number;
  missing: number;
  extra: number;
  changed: number;
  duplicate: number;
  /** The comparison was stopped (shouldStop) before it finished: the differences are incomplete; act on none of them. */
  stopped?: boolean;
  /** Up to `limit` differing keys, in key order within each narrowed range. */
  differences: Difference[];
  /** More differences exist than were looked for: the counts are lower bounds. */
  truncated: boolean;
  /**
   * rowsHashed: rows both sides read to digest ranges (each level reads the rows of the ranges it cuts);
   * rowsFetched: rows (key and digest) both sides sent back one by one. The source's share of each:
   * what Postgres read, and what crossed the wire from it row by row (digests travel as aggregates).
   */
  stats: { rangesDigested: number; rowsHashed: number; rowsFetched: number; sourceRowsHashed: number; sourceRowsFetched: number; deepestLevel: number };
}

interface Pending {
  range: KeyRange;
  source: RangeDigest;
  target: RangeDigest;
  level: number;
}

/**
 * `shouldStop` is asked before each range (a SIGTERM during a long reconcile): when it says yes the
 * verdict comes back at once with `stopped` set.
 */
export async function verifyTable(
  shape: VerifyShape,
  source: RangeSide,
  target: RangeSide,
  options: Partial<VerifyOptions> = {},
  shouldStop: () => boolean = () => false,
): Promise<TableVerdict> {
  const opts = { ...DEFAULT_VERIFY_OPTIONS, ...options };
  const fanout = Math.max(2, opts.fanout);
  const leafRows = Math.max(1, opts.leafRows);
  const widest = Math.max(fanout, Math.min(opts.maxFanout, Math.floor(MAX_BOUNDARY_VALUES / Math.max(1, shape.keys.length))));
  /** Parts to cut a range of `rows` rows into: leaves of about leafRows / 4 rows, within [fanout, widest]. */
  const partsFor = (rows: number) => Math.max(fanout, Math.min(widest, Math.ceil((rows * 4) / leafRows)));
  /** Rows per part when differing leaves are cut once more before their rows are fetched (compareLeaves). */
  const fineRows = Math.max(1, Math.floor(leafRows / 64));
  const stats = { rangesDigested: 0, rowsHashed: 0, rowsFetched: 0, sourceRowsHashed: 0, sourceRowsFetched: 0, deepestLevel: 0 };
  // The first cut comes from the target's keys (DuckDB counts and sorts them in a blink), so one pass
  // over each table both answers "equal?" and, if not, already says where.
  const targetRows = await target.count(WHOLE_TABLE);
  const rootBoundaries = targetRows > leafRows ? await target.boundaries(WHOLE_TABLE, targetRows, partsFor(targetRows)) : [];
  const [sd, td] = await bothSides(source.digest(WHOLE_TABLE, rootBoundaries), target.digest(WHOLE_TABLE, rootBoundaries));
  stats.rangesDigested += 2 * (rootBoundaries.length + 1);
  const sum = (ds: RangeDigest[]) => ds.reduce((a, d) => a + d.rows, 0);
  stats.rowsHashed += sum(sd) + sum(td);
  stats.sourceRowsHashed += sum(sd);
  const verdict: TableVerdict = {
    equal: sd.every((d, i) => sameDigest(d, td[i])),
    sourceRows: sum(sd),
    targetRows: sum(td),
    missing: 0,
    extra: 0,
    changed: 0,
    duplicate: 0,
    differences: [],
    truncated: false,
    stats,
  };
  if (verdict.equal) return verdict;
  if (shouldStop()) return { ...verdict, stopped: true };

  const keyOf = (display: string[]) => Object.fromEntries(shape.keys.map((k, i) => [k.name, display[i]]));
  const room = () => opts.limit - (verdict.missing + verdict.extra + verdict.changed + verdict.duplicate);
  const record = (kind: DifferenceKind, row: KeyedRow, columns?: string[]) => {
    if (kind === 'missing' && opts.ignoreMissing) return;
    verdict[kind]++;
    if (verdict.differences.length < opts.limit) verdict.differences.push({ kind, key: keyOf(row.display), ...(columns ? { columns } : {}), tuple: row.key });
    // Counted but not listed: whoever acts on the list (reconcile, --repair) must come back for the rest,
    // even when this was the last range compared (found by review: the last leaves' overflow was dropped).
    else verdict.truncated = true;
  };

  // Depth first, in key order: memory stays at one path of the range tree.
  const stack: Pending[] = children(WHOLE_TABLE, rootBoundaries, sd, td, 1).reverse();
  while (stack.length > 0) {
    // Tests only (PGDUCK_PAUSE): a signal arriving here, mid-pass.
    await pausePoint('mid-compare');
    if (shouldStop()) {
      verdict.stopped = true;
      break;
    }
    if (room() <= 0) {
      verdict.truncated = true;
      break;
    }
    const node = stack.pop() as Pending;
    stats.deepestLevel = Math.max(stats.deepestLevel, node.level);

    if (node.source.rows === 0 || node.target.rows === 0) {
      // Present on one side only: every row there differs; list the first ones, count them all.
      const [side, kind, n] = node.source.rows === 0 ? [target, 'extra' as const, node.target.rows] : [source, 'missing' as const, node.source.rows];
      if (kind === 'missing' && opts.ignoreMissing) continue;
      const listed = await side.rows([node.range], Math.min(n, Math.max(0, opts.limit - verdict.differences.length)));
      stats.rowsFetched += listed.length;
      if (side === source) stats.sourceRowsFetched += listed.length;
      for (const row of listed) record(kind, row);
      verdict[kind] += n - listed.length;
      if (listed.length < n) verdict.truncated = true;
      continue;
    }

    const biggest = Math.max(node.source.rows, node.target.rows);
    let boundaries: KeyTuple[] = [];
    if (biggest > leafRows) {
      boundaries = await (node.source.rows >= node.target.rows ? source : target).boundaries(node.range, biggest, partsFor(biggest));
    }
    if (boundaries.length === 0) {
      // A leaf. The leaves that follow it in key order go in the same queries: scattered differences
      // make hundreds of small leaves, and one query per leaf per side cost more than reading them.
      const leaves = [node];
      let batched = biggest;
      for (let next = stack.at(-1); next && leaves.length < LEAF_BATCH; next = stack.at(-1)) {
        const rows = Math.max(next.source.rows, next.target.rows);
        if (next.source.rows === 0 || next.target.rows === 0 || rows > leafRows || batched + rows > leafRows * LEAF_BATCH) break;
        stack.pop();
        leaves.push(next);
        batched += rows;
      }
      await compareLeaves(leaves);
      continue;
    }
    const [a, b] = await bothSides(source.digest(node.range, boundaries), target.digest(node.range, boundaries));
    stats.rangesDigested += 2 * (boundaries.length + 1);
    stats.rowsHashed += sum(a) + sum(b);
    stats.sourceRowsHashed += sum(a);
    stack.push(...children(node.range, boundaries, a, b, node.level + 1).reverse());
  }
  return verdict;

  /**
   * Leaves (in key order) whose rows would otherwise all come back one by one: cut once more, finely,
   * and only the parts that differ are fetched from Postgres. The target's keys of those leaves are
   * read from DuckDB (local: nothing crosses the wire) with their row digests; the cuts are every
   * `fineRows`-th of them and each leaf's own bounds (so no part spans the gap between two leaves);
   * the target's digest of each part is summed here from those rows, exactly as the SQL sums them
   * (the 60-bit slices of each row's md5), and Postgres digests the same parts in one query over
   * those leaves only (`within`). So Postgres hashes the leaves' rows once more and sends back about
   * `fineRows` rows per difference instead of every row of every differing leaf
   * (docs/architecture.md#facts-reconcile-cost). Where the source holds more rows than the target
   * (rows it has and the target lacks), the target's keys would cut it badly: those leaves are
   * fetched as they are.
   */
  async function compareLeaves(leaves: Pending[]): Promise<void> {
    const ranges = leaves.map((l) => l.range);
    const sourceRows = leaves.reduce((n, l) => n + l.source.rows, 0);
    const targetRows = leaves.reduce((n, l) => n + l.target.rows, 0);
    if (targetRows <= fineRows * 4 || sourceRows > targetRows) return compareRows(ranges);
    const keys = await target.rows(ranges, Number.MAX_SAFE_INTEGER);
    stats.rowsFetched += keys.length;
    // The counts come from the same snapshot; if they do not match, take no chances.
    if (keys.length !== targetRows) return compareRows(ranges);
    const step = Math.max(fineRows, Math.ceil(keys.length / widest));
    const cuts: KeyTuple[] = [];
    /** The target's rows of each part (part i = [cuts[i-1], cuts[i])), in key order. */
    const held: KeyedRow[][] = [[]];
    const cut = (key: KeyTuple) => {
      cuts.push(key);
      held.push([]);
    };
    let at = 0;
    leaves.forEach((leaf, i) => {
      const before = leaves[i - 1]?.range.to;
      if (i > 0 && leaf.range.from && !(before && sameKey(before, leaf.range.from))) cut(leaf.range.from);
      // A cut due falls on the next key that differs from the one before: never between two copies of
      // one key (a keyless target's duplicate), which would then read as a key held once in each part
      // (found by review: reported `extra`, "hard-deleted in the source?", instead of `duplicate`).
      let due = false;
      for (let j = 0; j < leaf.target.rows; j++) {
        if (j > 0 && j % step === 0) due = true;
        if (due && j > 0 && !sameKey(keys[at + j].key, keys[at + j - 1].key)) {
          cut(keys[at + j].key);
          due = false;
        }
        held[cuts.length].push(keys[at + j]);
      }
      at += leaf.target.rows;
      if (i < leaves.length - 1 && leaf.range.to) cut(leaf.range.to);
    });
    const span: KeyRange = { from: ranges[0].from, to: ranges[ranges.length - 1].to };
    const a = await source.digest(span, cuts, ranges);
    const b = held.map(digestOf);
    stats.rangesDigested += 2 * (cuts.length + 1);
    stats.rowsHashed += sum(a) + sum(b);
    stats.sourceRowsHashed += sum(a);
    const level = Math.max(...leaves.map((l) => l.level)) + 1;
    stats.deepestLevel = Math.max(stats.deepestLevel, level);
    const differing: number[] = [];
    for (let p = 0; p <= cuts.length; p++) if (!sameDigest(a[p] ?? EMPTY_DIGEST, b[p])) differing.push(p);
    for (let i = 0; i < differing.length; i += LEAF_BATCH) {
      const parts = differing.slice(i, i + LEAF_BATCH);
      const fetched = await source.rows(
        parts.map((p) => ({ from: p === 0 ? span.from : cuts[p - 1], to: p === cuts.length ? span.to : cuts[p] })),
        Number.MAX_SAFE_INTEGER,
      );
      stats.rowsFetched += fetched.length;
      stats.sourceRowsFetched += fetched.length;
      await compareRowSets(
        fetched,
        parts.flatMap((p) => held[p]),
      );
    }
  }

  /** The parts of `range` cut at `boundaries` whose digests differ, in key order. */
  function children(range: KeyRange, boundaries: KeyTuple[], a: RangeDigest[], b: RangeDigest[], level: number): Pending[] {
    const out: Pending[] = [];
    for (let i = 0; i <= boundaries.length; i++) {
      const x = a[i] ?? EMPTY_DIGEST;
      const y = b[i] ?? EMPTY_DIGEST;
      if (sameDigest(x, y)) continue;
      out.push({
        range: { from: i === 0 ? range.from : boundaries[i - 1], to: i === boundaries.length ? range.to : boundaries[i] },
        source: x,
        target: y,
        level,
      });
    }
    return out;
  }

  async function compareRows(ranges: KeyRange[]): Promise<void> {
    const [a, b] = await bothSides(source.rows(ranges, Number.MAX_SAFE_INTEGER), target.rows(ranges, Number.MAX_SAFE_INTEGER));
    stats.rowsFetched += a.length + b.length;
    stats.sourceRowsFetched += a.length;
    await compareRowSets(a, b);
  }

  /** The source's rows `a` and the target's rows `b` of the same ranges, key by key. */
  async function compareRowSets(a: KeyedRow[], b: KeyedRow[]): Promise<void> {
    const inTarget = new Map<string, KeyedRow>();
    // Keys the target holds more than once (no PRIMARY KEY refused them): each reported once, whatever its copies hold.
    const duplicated = new Set<string>();
    const found: { kind: DifferenceKind; row: KeyedRow }[] = [];
    for (const r of b) {
      const id = JSON.stringify(r.key);
      if (!inTarget.has(id)) inTarget.set(id, r);
      else if (!duplicated.has(id)) {
        duplicated.add(id);
        found.push({ kind: 'duplicate', row: r });
      }
    }
    const seen = new Set<string>();
    for (const row of a) {
      const id = JSON.stringify(row.key);
      const other = inTarget.get(id);
      if (!other) found.push({ kind: 'missing', row });
      else {
        seen.add(id);
        if (!duplicated.has(id) && other.digest !== row.digest) found.push({ kind: 'changed', row });
      }
    }
    for (const [id, row] of inTarget) if (!seen.has(id)) found.push({ kind: 'extra', row });
    for (const { kind, row } of found) {
      if (kind === 'changed' && verdict.differences.length < opts.limit) record(kind, row, await differingColumns(row));
      else record(kind, row);
    }
  }

  async function differingColumns(row: KeyedRow): Promise<string[]> {
    const [a, b] = await bothSides(source.values(row.key), target.values(row.key));
    if (!a || !b) return [];
    return shape.columns.filter((_, i) => a[i] !== b[i]).map((c) => c.name);
  }
}
