/**
 * One side of a `verify` comparison (the Postgres source or the DuckDB target), reached only through
 * aggregate queries over key ranges, so neither side is ever read whole into memory.
 *
 * Contract shared by both implementations (src/postgres/range-digest.ts, src/duckdb/range-digest.ts):
 * - Keys are ordered by the VerifyShape's key columns (key-order.ts), the same order on both sides.
 * - A range is [from, to): `from` inclusive, `to` exclusive, null = unbounded.
 * - A row's digest is md5 of its canonical text (canonical-value.ts); a range's digest is the row count
 *   and two sums of 60-bit slices of the row digests (order-independent, 120 bits): equal ranges have
 *   equal digests, and different ones collide with negligible probability.
 * - Read-only, and repeatable within one snapshot (the caller holds one).
 */
export type KeyTuple = string[];

export interface KeyRange {
  from: KeyTuple | null;
  to: KeyTuple | null;
}

export const WHOLE_TABLE: KeyRange = { from: null, to: null };

export interface RangeDigest {
  rows: number;
  /** Sums of the row digests' first and second 60 bits, as decimal text. */
  h1: string;
  h2: string;
}

export const EMPTY_DIGEST: RangeDigest = { rows: 0, h1: '0', h2: '0' };

export function sameDigest(a: RangeDigest, b: RangeDigest): boolean {
  return a.rows === b.rows && a.h1 === b.h1 && a.h2 === b.h2;
}

export interface KeyedRow {
  /** Sort values of the key (what ranges are made of). */
  key: KeyTuple;
  /** The key as people read it (Postgres text / DuckDB VARCHAR). */
  display: string[];
  digest: string;
}

export interface RangeSide {
  /**
   * Digests of `range` cut at `boundaries` (sorted, inside the range): boundaries.length + 1 buckets,
   * bucket i = [boundaries[i-1], boundaries[i]). One pass over the range. `within` (sorted, disjoint,
   * inside the range): only the rows of those ranges count, the rest of the range is not hashed.
   */
  digest(range: KeyRange, boundaries: KeyTuple[], within?: KeyRange[]): Promise<RangeDigest[]>;
  /** Rows in `range` (instant on DuckDB; a scan on Postgres, so the algorithm asks the target). */
  count(range: KeyRange): Promise<number>;
  /** About `parts - 1` keys cutting `range` (holding about `rows` rows here) into parts of equal row count. */
  boundaries(range: KeyRange, rows: number, parts: number): Promise<KeyTuple[]>;
  /** The rows of `ranges` (sorted, disjoint) in key order, at most `limit`: one query for many small ranges. */
  rows(ranges: KeyRange[], limit: number): Promise<KeyedRow[]>;
  /** The canonical text of every compared column of one row (VerifyShape order), or null when absent. */
  values(key: KeyTuple): Promise<(string | null)[] | null>;
}
