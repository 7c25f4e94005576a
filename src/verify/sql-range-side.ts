/**
 * A RangeSide (range-side.ts) that runs RangeDigestQuery's SQL through whatever runs queries on its
 * engine, and reads the rows back by column name. The engine's driver stays in its own folder: it
 * hands in `run` and the DigestDialect (src/postgres/range-digest.ts, src/duckdb/range-digest.ts).
 */
import { RangeDigestQuery, type DigestDialect, type DigestQuery } from './range-digest-query.js';
import type { VerifyShape } from './verify-shape.js';
import type { KeyRange, KeyTuple, KeyedRow, RangeDigest, RangeSide } from './range-side.js';

/** Rows by output column name; values are text (or numbers, for DuckDB's integer bucket), or null. */
export type DigestRow = Record<string, unknown>;

export class SqlRangeSide implements RangeSide {
  private readonly query: RangeDigestQuery;
  /** Undoes the dialect's `exact` on a text read back. */
  private readonly fromExact: (text: string) => string;

  constructor(
    private readonly shape: VerifyShape,
    dialect: DigestDialect,
    private readonly run: (q: DigestQuery) => Promise<DigestRow[]>,
  ) {
    this.query = new RangeDigestQuery(shape, dialect);
    this.fromExact = dialect.fromExact ?? ((text) => text);
  }

  async digest(range: KeyRange, boundaries: KeyTuple[], within?: KeyRange[]): Promise<RangeDigest[]> {
    const out: RangeDigest[] = Array.from({ length: boundaries.length + 1 }, () => ({ rows: 0, h1: '0', h2: '0' }));
    for (const row of await this.run(this.query.digest(range, boundaries, within))) {
      out[Number(row.b)] = { rows: Number(row.n), h1: String(row.h1 ?? '0'), h2: String(row.h2 ?? '0') };
    }
    return out;
  }

  async count(range: KeyRange): Promise<number> {
    const rows = await this.run(this.query.count(range));
    return Number(rows[0].n);
  }

  async boundaries(range: KeyRange, rows: number, parts: number): Promise<KeyTuple[]> {
    return (await this.run(this.query.boundaries(range, rows, parts))).map((row) => this.keyTexts(row, 'k'));
  }

  async rows(ranges: KeyRange[], limit: number): Promise<KeyedRow[]> {
    return (await this.run(this.query.rows(ranges, limit))).map((row) => ({
      key: this.keyTexts(row, 'k'),
      display: this.keyTexts(row, 'v'),
      digest: String(row.d),
    }));
  }

  async values(key: KeyTuple): Promise<(string | null)[] | null> {
    const rows = await this.run(this.query.values(key));
    if (rows.length === 0) return null;
    return this.shape.columns.map((_, i) => {
      const text = rows[0][`c${i}`];
      return text === null || text === undefined ? null : this.fromExact(String(text));
    });
  }

  private keyTexts(row: DigestRow, prefix: 'k' | 'v'): string[] {
    return this.shape.keys.map((_, i) => this.fromExact(String(row[`${prefix}${i}`])));
  }
}
