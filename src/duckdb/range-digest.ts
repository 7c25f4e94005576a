/**
 * The DuckDB side of `verify` (contract: src/verify/range-side.ts): count and hash rows of the target
 * table per key range, in SQL. Key bounds are validated literals (key-order.ts); DuckDB compares row
 * values lexicographically here written out as (k0 < v0) OR (k0 = v0 AND k1 < v1) …, which also lets
 * its min/max pruning skip row groups outside a range of an int key.
 */
import type { LakeSession } from './lake.js';
import { targetRef } from './target-table.js';
import { duckPiece } from '../verify/canonical-value.js';
import { duckKeyLiteral } from '../verify/key-order.js';
import type { VerifyShape } from '../verify/verify-shape.js';
import type { KeyRange, KeyTuple, KeyedRow, RangeDigest, RangeSide } from '../verify/range-side.js';

export class DuckDbRangeDigest implements RangeSide {
  constructor(
    private readonly session: LakeSession,
    private readonly shape: VerifyShape,
  ) {}

  private literals(t: KeyTuple): string[] {
    return t.map((v, i) => duckKeyLiteral(this.shape.keys[i].kind, v));
  }

  /** (k…) < (v…) over the given key expressions, written out lexicographically. */
  private lessThan(exprs: string[], t: KeyTuple): string {
    const lit = this.literals(t);
    const terms = exprs.map((e, i) => [...exprs.slice(0, i).map((p, j) => `${p} = ${lit[j]}`), `${e} < ${lit[i]}`].join(' AND '));
    return `(${terms.map((x) => `(${x})`).join(' OR ')})`;
  }

  private rangeWhere(range: KeyRange, exprs: string[]): string[] {
    const where: string[] = [];
    if (range.from) where.push(`NOT ${this.lessThan(exprs, range.from)}`);
    if (range.to) where.push(this.lessThan(exprs, range.to));
    return where;
  }

  private inner(where: string[], opts: { columns?: boolean; display?: boolean }): string {
    const select = this.shape.keys.map((k, i) => `${k.duck} AS k${i}`);
    if (opts.display) select.push(...this.shape.keys.map((k, i) => `${k.duckDisplay} AS v${i}`));
    if (opts.columns) select.push(...this.shape.columns.map((c, i) => `${c.duck} AS c${i}`));
    return `SELECT ${select.join(', ')} FROM ${targetRef(this.session, this.shape.targetTable)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  }

  private keyExprs(): string[] {
    return this.shape.keys.map((k) => k.duck);
  }

  private refs(): string[] {
    return this.shape.keys.map((_, i) => `r.k${i}`);
  }

  private digestExpr(): string {
    return `md5(${this.shape.columns.map((_, i) => duckPiece(`r.c${i}`)).join(' || ')})`;
  }

  async digest(range: KeyRange, boundaries: KeyTuple[]): Promise<RangeDigest[]> {
    const where = this.rangeWhere(range, this.keyExprs());
    const bucket =
      boundaries.length === 0 ? '0' : `CASE ${boundaries.map((b, i) => `WHEN ${this.lessThan(this.refs(), b)} THEN ${i}`).join(' ')} ELSE ${boundaries.length} END`;
    const sql =
      `SELECT b, CAST(count(*) AS VARCHAR) AS n, CAST(sum(CAST('0x' || substr(d, 1, 15) AS BIGINT)) AS VARCHAR) AS h1, ` +
      `CAST(sum(CAST('0x' || substr(d, 16, 15) AS BIGINT)) AS VARCHAR) AS h2\n` +
      `FROM (SELECT ${bucket} AS b, ${this.digestExpr()} AS d FROM (${this.inner(where, { columns: true })}) AS r) AS s\n` +
      `GROUP BY b`;
    const out: RangeDigest[] = Array.from({ length: boundaries.length + 1 }, () => ({ rows: 0, h1: '0', h2: '0' }));
    for (const row of await this.session.all(sql)) out[Number(row.b)] = { rows: Number(row.n), h1: String(row.h1 ?? '0'), h2: String(row.h2 ?? '0') };
    return out;
  }

  async count(range: KeyRange): Promise<number> {
    const where = this.rangeWhere(range, this.keyExprs());
    const rows = await this.session.all(
      `SELECT count(*) AS n FROM ${targetRef(this.session, this.shape.targetTable)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    );
    return Number(rows[0].n);
  }

  async boundaries(range: KeyRange, rows: number, parts: number): Promise<KeyTuple[]> {
    const step = Math.max(1, Math.ceil(rows / parts));
    const where = this.rangeWhere(range, this.keyExprs());
    const cols = this.shape.keys.map((_, i) => `CAST(x.k${i} AS VARCHAR) AS k${i}`).join(', ');
    const sql =
      `SELECT ${cols} FROM (SELECT r.*, row_number() OVER (ORDER BY ${this.refs().join(', ')}) AS rn FROM (${this.inner(where, {})}) AS r) AS x\n` +
      `WHERE x.rn > 1 AND (x.rn - 1) % ${step} = 0 ORDER BY x.rn LIMIT ${parts - 1}`;
    return (await this.session.all(sql)).map((row) => this.shape.keys.map((_, i) => String(row[`k${i}`])));
  }

  async rows(range: KeyRange, limit: number): Promise<KeyedRow[]> {
    const where = this.rangeWhere(range, this.keyExprs());
    const n = this.shape.keys.length;
    const sql =
      `SELECT ${this.shape.keys.map((_, i) => `CAST(r.k${i} AS VARCHAR) AS k${i}`).join(', ')}, ${this.shape.keys.map((_, i) => `r.v${i}`).join(', ')}, ${this.digestExpr()} AS d\n` +
      `FROM (${this.inner(where, { columns: true, display: true })}) AS r ORDER BY ${this.refs().join(', ')} LIMIT ${limit}`;
    return (await this.session.all(sql)).map((row) => ({
      key: Array.from({ length: n }, (_, i) => String(row[`k${i}`])),
      display: Array.from({ length: n }, (_, i) => String(row[`v${i}`])),
      digest: String(row.d),
    }));
  }

  async values(key: KeyTuple): Promise<(string | null)[] | null> {
    const lit = this.literals(key);
    const where = this.keyExprs().map((e, i) => `${e} = ${lit[i]}`);
    const sql = `SELECT ${this.shape.columns.map((_, i) => `r.c${i}`).join(', ')} FROM (${this.inner(where, { columns: true })}) AS r`;
    const rows = await this.session.all(sql);
    if (rows.length === 0) return null;
    return this.shape.columns.map((_, i) => (rows[0][`c${i}`] ?? null) as string | null);
  }
}
