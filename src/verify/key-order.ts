/**
 * One order of primary keys that Postgres and DuckDB agree on, so a key range means the same rows on
 * both sides. `verify` cuts tables into ranges of this order and hashes each range on each side.
 *
 * - int2/int4/int8 keys compare natively (Postgres can use the primary-key index for range scans);
 * - uuid keys compare natively too: both order a uuid as its 16 bytes, which is also the order of its
 *   lower-case text (measured on DuckDB 1.5: 100k random pairs, no disagreement);
 * - every other key compares as its canonical text (canonical-value.ts) in byte order: Postgres
 *   `COLLATE "C"`, DuckDB's default binary collation. A text key in a linguistic collation
 *   (en_US, ICU) would otherwise be ordered differently by the two engines, and an enum key is ordered
 *   by its declaration in Postgres but by its label in DuckDB. Postgres then cannot use the index to
 *   find a range: each range query scans the table (still never more than once per narrowing level).
 *
 * Key values travel between the two sides as text: decimal digits, the uuid text, the canonical text.
 */
import type { PgColumn } from '../schema/column.js';
import { quoteLiteral } from '../sql/identifier.js';
import type { CanonicalColumn } from './canonical-value.js';

export type KeyKind = 'int' | 'uuid' | 'text';

export interface KeyColumn {
  name: string;
  kind: KeyKind;
  /** Postgres sort expression over the source column (index-friendly for int and uuid keys). */
  pg: string;
  /** DuckDB sort expression over the target column, ordered exactly like `pg`. */
  duck: string;
  /** Postgres text of the key, for people (messages). */
  pgDisplay: string;
  /** DuckDB text of the key, for people. */
  duckDisplay: string;
}

const INT_TYPES = new Set(['int2', 'int4', 'int8']);
const TEXT_TYPES = new Set(['text', 'varchar']);

export function keyColumn(source: PgColumn, canon: CanonicalColumn, quoted: { pg: string; duck: string }): KeyColumn {
  const display = { pgDisplay: `(${quoted.pg})::text`, duckDisplay: `CAST(${quoted.duck} AS VARCHAR)` };
  if (INT_TYPES.has(source.typname) && canon.domain === 'int') return { name: source.name, kind: 'int', pg: quoted.pg, duck: quoted.duck, ...display };
  if (source.typname === 'uuid' && canon.domain === 'uuid') return { name: source.name, kind: 'uuid', pg: quoted.pg, duck: quoted.duck, ...display };
  // text/varchar: the value is its own canonical text; left bare so a "C"-collated column keeps its index.
  const pg = TEXT_TYPES.has(source.typname) && canon.domain === 'text' ? quoted.pg : `(${canon.pg})`;
  return { name: source.name, kind: 'text', pg: `${pg} COLLATE "C"`, duck: canon.duck, ...display };
}

const INT = /^-?[0-9]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Postgres cast for a key value sent as a text parameter. */
export function pgKeyParamCast(kind: KeyKind): string {
  return kind === 'int' ? 'int8' : kind === 'uuid' ? 'uuid' : 'text';
}

/** DuckDB literal for a key value (validated: it came from a database, but it is spliced into SQL). */
export function duckKeyLiteral(kind: KeyKind, value: string): string {
  if (kind === 'int') {
    if (!INT.test(value)) throw new Error(`not an integer key value: ${JSON.stringify(value)}`);
    return value; // a bare literal keeps DuckDB's filter pushdown (min/max pruning) on the key column
  }
  if (kind === 'uuid') {
    if (!UUID.test(value)) throw new Error(`not a uuid key value: ${JSON.stringify(value)}`);
    return `CAST(${quoteLiteral(value)} AS UUID)`;
  }
  return quoteLiteral(value);
}
