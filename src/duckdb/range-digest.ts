/**
 * The DuckDB side of `verify` (contract: src/verify/range-side.ts): count and hash rows of the target
 * table per key range, in SQL. The queries are src/verify/range-digest-query.ts's; this is how DuckDB
 * writes its part of them. Key bounds are validated literals (key-order.ts); DuckDB compares row
 * values lexicographically here written out as (k0 < v0) OR (k0 = v0 AND k1 < v1) …, which also lets
 * its min/max pruning skip row groups outside a range of an int key.
 */
import type { LakeSession } from './lake.js';
import { targetRef } from './target-table.js';
import { duckPiece } from '../verify/canonical-value.js';
import { duckKeyLiteral } from '../verify/key-order.js';
import type { DigestDialect } from '../verify/range-digest-query.js';
import { SqlRangeSide } from '../verify/sql-range-side.js';
import type { VerifyShape } from '../verify/verify-shape.js';

/** (k…) < (v…) written out lexicographically. */
function less(exprs: string[], values: string[]): string {
  const terms = exprs.map((e, i) => [...exprs.slice(0, i).map((p, j) => `${p} = ${values[j]}`), `${e} < ${values[i]}`].join(' AND '));
  return `(${terms.map((x) => `(${x})`).join(' OR ')})`;
}

export function duckDbDigestDialect(session: LakeSession, shape: VerifyShape): DigestDialect {
  return {
    table: shape.targetFilter
      ? `(SELECT * FROM ${targetRef(session, { schema: shape.targetSchema, table: shape.targetTable })} WHERE ${shape.targetFilter}) AS compared`
      : targetRef(session, { schema: shape.targetSchema, table: shape.targetTable }),
    keySort: (k) => k.duck,
    keyDisplay: (k) => k.duckDisplay,
    canonical: (c) => c.duck,
    keyRef: (ref) => ref,
    keyValue: (kind, value) => duckKeyLiteral(kind, value),
    less,
    atLeast: (exprs, values) => `NOT ${less(exprs, values)}`,
    equal: (exprs, values) => exprs.map((e, i) => `${e} = ${values[i]}`).join(' AND '),
    rowDigest: (refs) => `md5(${refs.map(duckPiece).join(' || ')})`,
    hex60: (hex) => `CAST('0x' || ${hex} AS BIGINT)`,
    text: (x) => `CAST(${x} AS VARCHAR)`,
    // The client drops a leading U+FEFF from every text it decodes: a character first keeps it.
    exact: (x) => `('.' || ${x})`,
    fromExact: (text) => text.slice(1),
    fence: '',
  };
}

export class DuckDbRangeDigest extends SqlRangeSide {
  constructor(session: LakeSession, shape: VerifyShape) {
    super(shape, duckDbDigestDialect(session, shape), (q) => session.all(q.sql));
  }
}
