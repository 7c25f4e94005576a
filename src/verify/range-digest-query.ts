/**
 * The SQL of one side of `verify` (contract: range-side.ts), written once for both engines: the
 * queries have the same skeleton on Postgres and DuckDB, and only how each engine compares key tuples,
 * hashes a row, casts to text and keeps a subquery from being inlined differs. That part is a
 * DigestDialect, defined next to each driver (src/postgres/range-digest.ts, src/duckdb/range-digest.ts);
 * this file is pure: it imports no driver and runs nothing.
 *
 * Every query reads the inner query `r` (key columns k<i>, display texts v<i>, canonical column texts
 * c<i>, per the VerifyShape) and names every output column, so a side reads rows by name.
 */
import type { KeyColumn, KeyKind } from './key-order.js';
import type { CanonicalColumn } from './canonical-value.js';
import type { KeyRange, KeyTuple } from './range-side.js';
import type { VerifyShape } from './verify-shape.js';

/** How one engine writes the engine-specific parts of the digest queries. */
export interface DigestDialect {
  /** The table this side reads, quoted and qualified. */
  table: string;
  /** The key column's sort expression over the table (key-order.ts: ordered alike on both sides). */
  keySort(k: KeyColumn): string;
  /** The key column as people read it. */
  keyDisplay(k: KeyColumn): string;
  /**
   * A text that must reach JavaScript exactly (a key, its display, a canonical value), as this engine
   * sends it; SqlRangeSide undoes it (`fromExact`). DuckDB's client drops a leading U+FEFF from every
   * text it decodes (found by review: a key '\uFEFFc' came back as 'c'), so DuckDB sends '.' first.
   * Absent: the text as it is.
   */
  exact?(text: string): string;
  fromExact?(text: string): string;
  /** The column's canonical text over the table (canonical-value.ts). */
  canonical(c: CanonicalColumn): string;
  /** How the outer query refers to the inner query's key column `ref` when it compares or orders by it. */
  keyRef(ref: string, k: KeyColumn): string;
  /** A key value as SQL: a bound parameter appended to `params`, or a validated literal. */
  keyValue(kind: KeyKind, value: string, params: string[]): string;
  /** (exprs…) < (values…), lexicographically. */
  less(exprs: string[], values: string[]): string;
  /** (exprs…) >= (values…), lexicographically. */
  atLeast(exprs: string[], values: string[]): string;
  /** (exprs…) = (values…). */
  equal(exprs: string[], values: string[]): string;
  /** md5 hex of the concatenation of the columns' pieces (`'N'` or `<length>:<text>`, canonical-value.ts). */
  rowDigest(columnRefs: string[]): string;
  /** The 15 hex digits `hex` (60 bits) as a bigint. */
  hex60(hex: string): string;
  /** `x` as text. */
  text(x: string): string;
  /** Appended to a subquery that the planner must not inline into the query around it ('' for none). */
  fence: string;
}

/** A query and the values of its bound parameters ($1, $2, … in order; none for literal dialects). */
export interface DigestQuery {
  sql: string;
  params: string[];
}

export class RangeDigestQuery {
  constructor(
    private readonly shape: VerifyShape,
    private readonly dialect: DigestDialect,
  ) {}

  /**
   * Per bucket b (see RangeSide.digest): n rows, h1 and h2 the sums of the row digests' two 60-bit
   * slices. `within` (sorted, disjoint, inside `range`): only the rows of those ranges are digested.
   */
  digest(range: KeyRange, boundaries: KeyTuple[], within?: KeyRange[]): DigestQuery {
    const d = this.dialect;
    const params: string[] = [];
    const where = within ? this.rangesWhere(within, params) : this.rangeWhere(range, params);
    const refs = this.refs();
    // Bucket i holds boundaries[i-1] <= key < boundaries[i]. Found by binary search, written out as
    // nested CASEs: log2(parts) key comparisons per row, so a cut into thousands of parts costs a pass
    // about as cheap as a cut into 32 (verify-table.ts cuts wide where differences are scattered).
    const bucket = (lo: number, hi: number): string => {
      if (lo === hi) return String(lo);
      const mid = (lo + hi) >> 1;
      return `CASE WHEN ${d.less(refs, this.keyValues(boundaries[mid], params))} THEN ${bucket(lo, mid)} ELSE ${bucket(mid + 1, hi)} END`;
    };
    const sum = (from: number) => d.text(`sum(${d.hex60(`substr(d, ${from}, 15)`)})`);
    const sql =
      `SELECT b, ${d.text('count(*)')} AS n, ${sum(1)} AS h1, ${sum(16)} AS h2\n` +
      `FROM (SELECT ${bucket(0, boundaries.length)} AS b, ${this.rowDigest()} AS d FROM (${this.inner(where, { columns: true })}) AS r${d.fence}) AS s\n` +
      `GROUP BY b`;
    return { sql, params };
  }

  /** n: the rows in the range. */
  count(range: KeyRange): DigestQuery {
    const params: string[] = [];
    const where = this.rangeWhere(range, params);
    return { sql: `SELECT ${this.dialect.text('count(*)')} AS n FROM ${this.dialect.table}${whereClause(where)}`, params };
  }

  /** k<i>: the keys (as text) of every `step`-th row after the first, at most `parts - 1` of them. */
  boundaries(range: KeyRange, rows: number, parts: number): DigestQuery {
    const step = Math.max(1, Math.ceil(rows / parts));
    const params: string[] = [];
    const where = this.rangeWhere(range, params);
    const cols = this.shape.keys.map((_, i) => `${this.exact(this.dialect.text(`x.k${i}`))} AS k${i}`).join(', ');
    const sql =
      `SELECT ${cols} FROM (SELECT r.*, row_number() OVER (ORDER BY ${this.refs().join(', ')}) AS rn FROM (${this.inner(where, {})}) AS r) AS x\n` +
      `WHERE x.rn > 1 AND (x.rn - 1) % ${step} = 0 ORDER BY x.rn LIMIT ${parts - 1}`;
    return { sql, params };
  }

  /** k<i> (key text), v<i> (display text), d (row digest) of the first `limit` rows of `ranges` in key order. */
  rows(ranges: KeyRange[], limit: number): DigestQuery {
    const params: string[] = [];
    const where = this.rangesWhere(ranges, params);
    const keys = this.shape.keys.map((_, i) => `${this.exact(this.dialect.text(`r.k${i}`))} AS k${i}`).join(', ');
    const display = this.shape.keys.map((_, i) => `${this.exact(`r.v${i}`)} AS v${i}`).join(', ');
    const sql =
      `SELECT ${keys}, ${display}, ${this.rowDigest()} AS d\n` +
      `FROM (${this.inner(where, { columns: true, display: true })}) AS r ORDER BY ${this.refs().join(', ')} LIMIT ${limit}`;
    return { sql, params };
  }

  /** c<i>: the canonical text of every compared column of the row with this key (no row when absent). */
  values(key: KeyTuple): DigestQuery {
    const params: string[] = [];
    const where = [this.dialect.equal(this.keySorts(), this.keyValues(key, params))];
    const sql = `SELECT ${this.shape.columns.map((_, i) => `${this.exact(`r.c${i}`)} AS c${i}`).join(', ')} FROM (${this.inner(where, { columns: true })}) AS r`;
    return { sql, params };
  }

  /** A condition true for the rows whose key is one of `keys` (on this side's table, its columns unqualified). */
  keyIn(keys: KeyTuple[], params: string[]): string {
    if (keys.length === 0) return 'false';
    return `(${keys.map((k) => `(${this.dialect.equal(this.keySorts(), this.keyValues(k, params))})`).join(' OR ')})`;
  }

  private exact(text: string): string {
    return this.dialect.exact ? this.dialect.exact(text) : text;
  }

  private keyValues(t: KeyTuple, params: string[]): string[] {
    return t.map((v, i) => this.dialect.keyValue(this.shape.keys[i].kind, v, params));
  }

  private keySorts(): string[] {
    return this.shape.keys.map((k) => this.dialect.keySort(k));
  }

  private refs(): string[] {
    return this.shape.keys.map((k, i) => this.dialect.keyRef(`r.k${i}`, k));
  }

  /**
   * The rows of several ranges (sorted, disjoint): the span from the first's start to the last's end,
   * then which of them. The span alone is a plain range, so Postgres scans the key index and DuckDB
   * skips row groups by min/max.
   */
  private rangesWhere(ranges: KeyRange[], params: string[]): string[] {
    if (ranges.length === 1) return this.rangeWhere(ranges[0], params);
    return [
      ...this.rangeWhere({ from: ranges[0].from, to: ranges[ranges.length - 1].to }, params),
      `(${
        ranges
          .map((r) => this.rangeWhere(r, params))
          .map((c) => (c.length ? `(${c.join(' AND ')})` : 'true'))
          .join(' OR ') || 'false'
      })`,
    ];
  }

  private rangeWhere(range: KeyRange, params: string[]): string[] {
    const where: string[] = [];
    if (range.from) where.push(this.dialect.atLeast(this.keySorts(), this.keyValues(range.from, params)));
    if (range.to) where.push(this.dialect.less(this.keySorts(), this.keyValues(range.to, params)));
    return where;
  }

  private rowDigest(): string {
    return this.dialect.rowDigest(this.shape.columns.map((_, i) => `r.c${i}`));
  }

  private inner(where: string[], opts: { columns?: boolean; display?: boolean }): string {
    const d = this.dialect;
    const select = this.shape.keys.map((k, i) => `${d.keySort(k)} AS k${i}`);
    if (opts.display) select.push(...this.shape.keys.map((k, i) => `${d.keyDisplay(k)} AS v${i}`));
    if (opts.columns) select.push(...this.shape.columns.map((c, i) => `${d.canonical(c)} AS c${i}`));
    return `SELECT ${select.join(', ')} FROM ${d.table}${whereClause(where)}${d.fence}`;
  }
}

function whereClause(where: string[]): string {
  return where.length ? ` WHERE ${where.join(' AND ')}` : '';
}
