/**
 * The Postgres side of `verify` (contract: src/verify/range-side.ts): count and hash rows of the
 * source table per key range, in SQL, so only aggregates (and, at the narrowest level, a few hundred
 * keys) cross the wire. The queries are src/verify/range-digest-query.ts's; this is how Postgres
 * writes its part of them. Key bounds are bound parameters, compared as row values, so ranges on int
 * and uuid keys use the primary-key index. Run inside one REPEATABLE READ transaction so every query
 * sees the same snapshot.
 */
import type { PgClient } from './connect.js';
import { pgPiece } from '../verify/canonical-value.js';
import { pgKeyParamCast } from '../verify/key-order.js';
import type { DigestDialect } from '../verify/range-digest-query.js';
import { SqlRangeSide, type DigestRow } from '../verify/sql-range-side.js';
import type { VerifyShape } from '../verify/verify-shape.js';

const tuple = (xs: string[]) => `(${xs.join(', ')})`;

export function postgresDigestDialect(shape: VerifyShape): DigestDialect {
  // A text key of a database whose encoding is not UTF-8 compares as its UTF-8 bytes, as DuckDB orders it.
  // (keyRef already converts the outer query's references: they are used as they are in ORDER BY.)
  const utf8 = (x: string, i: number) =>
    shape.sourceNotUtf8 && shape.keys[i]?.kind === 'text' && !x.startsWith('convert_to(') ? `convert_to(${x}, 'UTF8')` : x;
  const ordered = (xs: string[]) => xs.map(utf8);
  return {
    table: shape.sourceTable,
    keySort: (k) => k.pg,
    keyDisplay: (k) => k.pgDisplay,
    canonical: (c) => c.pg,
    // A subquery's output loses the explicit collation: text keys are re-collated.
    keyRef: (ref, k) => (k.kind !== 'text' ? ref : shape.sourceNotUtf8 ? `convert_to(${ref}, 'UTF8')` : `${ref} COLLATE "C"`),
    keyValue: (kind, value, params) => {
      params.push(value);
      return `$${params.length}::${pgKeyParamCast(kind)}`;
    },
    less: (exprs, values) => `${tuple(ordered(exprs))} < ${tuple(ordered(values))}`,
    atLeast: (exprs, values) => `${tuple(ordered(exprs))} >= ${tuple(ordered(values))}`,
    equal: (exprs, values) => `${tuple(exprs)} = ${tuple(values)}`,
    rowDigest: (refs) => `md5(convert_to(${refs.map(pgPiece).join(' || ')}, 'UTF8'))`,
    hex60: (hex) => `('x' || ${hex})::bit(60)::bigint`,
    text: (x) => `${x}::text`,
    // OFFSET 0 keeps the planner from inlining a subquery into the one around it, which would evaluate
    // each expression once per reference (a canonical value three times in its piece, the row digest
    // twice): 3× slower on 1M rows.
    fence: ' OFFSET 0',
  };
}

export class PostgresRangeDigest extends SqlRangeSide {
  constructor(client: PgClient, shape: VerifyShape) {
    super(shape, postgresDigestDialect(shape), async (q) => (await client.query<DigestRow>({ text: q.sql, values: q.params })).rows);
  }
}
