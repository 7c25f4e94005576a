/**
 * The canonical value of a column: one text per value, computed by Postgres SQL on the source and by
 * DuckDB SQL on the target, equal exactly when the two values are equal. `verify` hashes rows made of
 * these texts on both sides and compares hashes, never rows, so both dialects live here side by side:
 * change one, change the other.
 *
 * The canonical form is chosen by the *target* column's DuckDB type (its domain); the Postgres
 * expression is written for the source type that maps to it (src/schema/type-map.ts). Never the same
 * formatting code on both sides where the two print a value differently:
 *
 *   domain      canonical text                                         why not the printed text
 *   int         decimal digits                                          (prints the same)
 *   float       'NaN', else the IEEE 754 bits as a signed int64         shortest digits differ (PG prints 17
 *                                                                      digits for some values ≥ 1e16, DuckDB 16)
 *   decimal     digits without trailing fractional zeros ('1.5', '0')   DuckDB prints DECIMAL(5,5) as '.00099'
 *   text        the text itself (Postgres: the output of the column's   json/jsonb/enum/char(n)/… are kept verbatim
 *               extract expression, i.e. exactly what was loaded)
 *   uuid        lower-case 8-4-4-4-12                                   (prints the same)
 *   bool        'true' | 'false'                                        't' vs 'true'
 *   date        days since 1970-01-01, or 'infinity' | '-infinity'      BC dates print differently
 *   timestamp   µs since 1970-01-01 (timestamptz: absolute), or ±inf   BC, time zone and precision printing
 *   time        µs since midnight (24:00:00 → 86400000000)
 *   timetz      '<µs since midnight> <offset seconds east>'
 *   interval    '<months> <days> <µs>' (the three fields both store)    no common interval text
 *   blob        lower-case hex                                          escapes differ
 *   list        '[' piece,piece… ']' of the element canonicals          element formatting
 *
 * A row's text is the concatenation of one piece per column: 'N' for NULL, else `<length>:<text>`
 * (length in characters, the same in both engines), so no two different rows concatenate alike.
 * Requires Postgres 14+ (extract() returns exact numeric) and a session set up by connectPostgres()
 * (UTC, ISO dates, iso_8601 intervals, hex bytea): the same settings the extract ran with.
 */
import type { ColumnMapping, PgColumn } from '../schema/column.js';

export type Domain =
  | 'int'
  | 'float'
  | 'decimal'
  | 'text'
  | 'uuid'
  | 'bool'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'time'
  | 'timetz'
  | 'interval'
  | 'blob'
  | { list: Domain };

const INT_TYPES = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'INT',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
  'INT1',
  'INT2',
  'INT4',
  'INT8',
]);
const SIMPLE: Record<string, Domain> = {
  FLOAT: 'float',
  REAL: 'float',
  FLOAT4: 'float',
  DOUBLE: 'float',
  FLOAT8: 'float',
  'DOUBLE PRECISION': 'float',
  UUID: 'uuid',
  BOOLEAN: 'bool',
  BOOL: 'bool',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  DATETIME: 'timestamp',
  TIMESTAMP_S: 'timestamp',
  TIMESTAMP_MS: 'timestamp',
  TIMESTAMP_NS: 'timestamp',
  TIMESTAMPTZ: 'timestamptz',
  'TIMESTAMP WITH TIME ZONE': 'timestamptz',
  TIME: 'time',
  TIMETZ: 'timetz',
  'TIME WITH TIME ZONE': 'timetz',
  INTERVAL: 'interval',
  BLOB: 'blob',
  BYTEA: 'blob',
};

/** The canonical domain of a DuckDB column type (either spelling: `TIMESTAMPTZ` or `TIMESTAMP WITH TIME ZONE`). Unknown types compare as text. */
export function domainOfDuckType(duckType: string): Domain {
  const t = duckType.trim().toUpperCase();
  if (t.endsWith('[]')) return { list: domainOfDuckType(t.slice(0, -2)) };
  if (INT_TYPES.has(t)) return 'int';
  if (/^(DECIMAL|NUMERIC)\s*(\(.*\))?$/.test(t)) return 'decimal';
  return SIMPLE[t] ?? 'text';
}

export function sameDomain(a: Domain, b: Domain): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return sameDomain(a.list, b.list);
}

export function describeDomain(d: Domain): string {
  return typeof d === 'string' ? d : `list of ${describeDomain(d.list)}`;
}

// ---------------------------------------------------------------------------------------------------
// DuckDB. `x` is a column reference or a lambda parameter.

function duckScalar(d: Exclude<Domain, { list: Domain }>, x: string): string {
  switch (d) {
    case 'int':
    case 'uuid':
    case 'text':
      return `CAST(${x} AS VARCHAR)`;
    case 'float':
      // CAST(DOUBLE AS BIT) is the IEEE 754 bit pattern; as BIGINT it equals Postgres' float8send() read as int8.
      return `CASE WHEN isnan(${x}) THEN 'NaN' ELSE CAST(CAST(CAST(CAST(${x} AS DOUBLE) AS BIT) AS BIGINT) AS VARCHAR) END`;
    case 'decimal':
      return duckDecimal(`CAST(${x} AS VARCHAR)`);
    case 'bool':
      return `CASE WHEN ${x} IS NULL THEN NULL WHEN ${x} THEN 'true' ELSE 'false' END`;
    case 'date':
      return `CASE WHEN isfinite(${x}) THEN CAST(${x} - DATE '1970-01-01' AS VARCHAR) ELSE CAST(${x} AS VARCHAR) END`;
    case 'timestamp':
    case 'timestamptz':
      return `CASE WHEN isfinite(${x}) THEN CAST(epoch_us(${x}) AS VARCHAR) ELSE CAST(${x} AS VARCHAR) END`;
    case 'time':
      return `CAST(epoch_us(${x}) AS VARCHAR)`;
    case 'timetz':
      return `CAST(epoch_us(CAST(${x} AS TIME)) AS VARCHAR) || ' ' || CAST(extract('timezone' FROM ${x}) AS VARCHAR)`;
    case 'interval':
      return (
        `CAST(CAST(datepart('year', ${x}) AS BIGINT) * 12 + datepart('month', ${x}) AS VARCHAR) || ' ' || CAST(datepart('day', ${x}) AS VARCHAR) || ' ' || ` +
        `CAST(CAST(datepart('hour', ${x}) AS HUGEINT) * 3600000000 + CAST(datepart('minute', ${x}) AS HUGEINT) * 60000000 + datepart('microseconds', ${x}) AS VARCHAR)`
      );
    case 'blob':
      return `lower(hex(${x}))`;
  }
}

/** Trailing fractional zeros and a bare point dropped; DuckDB's '.5' / '-.5' / '' (from '.000') made '0.5' / '-0.5' / '0'. */
function duckDecimal(t: string): string {
  const trimmed = `CASE WHEN strpos(${t}, '.') = 0 THEN ${t} ELSE rtrim(rtrim(${t}, '0'), '.') END`;
  return `regexp_replace(regexp_replace(${trimmed}, '^(-?)[.]', '\\1' || '0.'), '^-?$', '0')`;
}

/** DuckDB expression: the canonical text of `x` (a column of `duckType`), NULL for NULL. */
export function duckCanonical(duckType: string, x: string): string {
  return duckCanonicalOf(domainOfDuckType(duckType), x);
}

function duckCanonicalOf(d: Domain, x: string): string {
  if (typeof d === 'string') return duckScalar(d, x);
  const canon = duckCanonicalOf(d.list, 'pgduck_e');
  return (
    `CASE WHEN ${x} IS NULL THEN NULL ELSE '[' || array_to_string(list_transform(list_transform(${x}, lambda pgduck_e: ${canon}), ` +
    `lambda pgduck_c: ${duckPiece('pgduck_c')}), ',') || ']' END`
  );
}

/** One column's piece of the row text: 'N' for NULL, else `<length>:<text>`. */
export function duckPiece(c: string): string {
  return `CASE WHEN ${c} IS NULL THEN 'N' ELSE CAST(length(${c}) AS VARCHAR) || ':' || ${c} END`;
}

// ---------------------------------------------------------------------------------------------------
// Postgres. `v` is the raw column (native value); `sel` the extract's select expression of it.

function pgScalar(d: Exclude<Domain, { list: Domain }>, v: string, sel: string): string {
  switch (d) {
    case 'int':
    case 'uuid':
      return `(${v})::text`;
    case 'text':
      // The output function (format %s), not ::text: char(n)::text drops the padding the extract sent.
      // Test the selected value for NULL, not the column: ROW(NULL, NULL) IS NULL is true, its to_json is not.
      return `CASE WHEN (${sel}) IS NULL THEN NULL ELSE format('%s', ${sel}) END`;
    case 'float':
      return `CASE WHEN (${v})::float8 = 'NaN' THEN 'NaN' ELSE (('x' || encode(float8send((${v})::float8), 'hex'))::bit(64)::bigint)::text END`;
    case 'decimal':
      return pgDecimal(`(${v})::text`);
    case 'bool':
      return `CASE WHEN ${v} IS NULL THEN NULL WHEN ${v} THEN 'true' ELSE 'false' END`;
    case 'date':
      return `CASE WHEN isfinite(${v}) THEN ((${v}) - DATE '1970-01-01')::text ELSE (${v})::text END`;
    case 'timestamp':
    case 'timestamptz':
      return `CASE WHEN isfinite(${v}) THEN (extract(epoch FROM ${v}) * 1000000)::bigint::text ELSE (${v})::text END`;
    case 'time':
      return `(extract(epoch FROM ${v}) * 1000000)::bigint::text`;
    case 'timetz':
      return `(extract(epoch FROM (${v})::time) * 1000000)::bigint::text || ' ' || extract(timezone FROM ${v})::text`;
    case 'interval':
      return (
        `CASE WHEN NOT isfinite(${v}) THEN (${v})::text ELSE ` +
        `(extract(year FROM ${v}) * 12 + extract(month FROM ${v}))::bigint::text || ' ' || extract(day FROM ${v})::bigint::text || ' ' || ` +
        `(extract(hour FROM ${v}) * 3600000000 + extract(minute FROM ${v}) * 60000000 + extract(microseconds FROM ${v}))::bigint::text END`
      );
    case 'blob':
      return `encode(${v}, 'hex')`;
  }
}

/** Postgres never prints a bare leading point; numeric NaN/±Infinity have no point and stay as they are. */
function pgDecimal(t: string): string {
  return `CASE WHEN strpos(${t}, '.') = 0 THEN ${t} ELSE rtrim(rtrim(${t}, '0'), '.') END`;
}

/** Postgres expression: an array element's canonical text from the element's text as the extract sent it. */
function pgElement(d: Domain, e: string): string {
  if (typeof d !== 'string') return `'!nested'`; // DuckDB lists of lists are never produced (1-D arrays only)
  switch (d) {
    case 'int':
    case 'uuid':
    case 'text':
      return e;
    case 'decimal':
      return pgDecimal(e);
    case 'blob':
      return `substr(${e}, 3)`; // '\x00ff' (bytea_output=hex)
    case 'float':
      return pgScalar(d, `(${e})::float8`, e);
    case 'bool':
      return pgScalar(d, `(${e})::boolean`, e);
    default:
      return pgScalar(d, `(${e})::${d}`, e);
  }
}

export function pgPiece(c: string): string {
  return `CASE WHEN ${c} IS NULL THEN 'N' ELSE length(${c})::text || ':' || ${c} END`;
}

/** Postgres expression: the canonical text of column `v` whose extract expression is `sel`, in the given target domain. */
export function pgCanonicalOf(d: Domain, v: string, sel: string): string {
  if (typeof d === 'string') return pgScalar(d, v, sel);
  // Elements exactly as the extract sent them (a JSON array of element texts); arrays the load refuses
  // (multidimensional, lower bound ≠ 1) get a text no DuckDB list has.
  const elements = `SELECT ${pgElement(d.list, 'u.e')} AS c, u.o FROM json_array_elements_text((${sel})::json) WITH ORDINALITY AS u (e, o)`;
  return (
    `CASE WHEN ${v} IS NULL THEN NULL WHEN array_ndims(${v}) > 1 OR array_lower(${v}, 1) <> 1 THEN '!unsyncable array' ` +
    `ELSE '[' || coalesce((SELECT string_agg(${pgPiece('z.c')}, ',' ORDER BY z.o) FROM (${elements}) AS z), '') || ']' END`
  );
}

// ---------------------------------------------------------------------------------------------------

export interface CanonicalColumn {
  name: string;
  /** Postgres expression (over the quoted source column) giving the canonical text or NULL. */
  pg: string;
  /** DuckDB expression (over the quoted target column) giving the canonical text or NULL. */
  duck: string;
  domain: Domain;
}

export interface UncomparedColumn {
  name: string;
  reason: string;
}

function isNumericSource(col: PgColumn): boolean {
  return col.typname === 'numeric' || col.elemTypname === 'numeric';
}

/**
 * The canonical expressions for one column present on both sides, or why it cannot be compared
 * (the source type no longer maps to the target column's kind of value).
 */
export function canonicalColumn(
  source: PgColumn,
  mapping: ColumnMapping,
  targetType: string,
  quoted: { pg: string; duck: string },
): CanonicalColumn | UncomparedColumn {
  const target = domainOfDuckType(targetType);
  const natural = domainOfDuckType(mapping.duckType);
  // numeric may land as DECIMAL or as exact text: compare in whichever the target holds.
  const numericEither =
    isNumericSource(source) && ['decimal', 'text'].includes(typeof target === 'string' ? target : typeof target.list === 'string' ? target.list : '');
  if (!sameDomain(target, natural) && !numericEither) {
    return {
      name: source.name,
      reason: `source ${source.declaredType} (${describeDomain(natural)}) and target ${targetType} (${describeDomain(target)}) hold different kinds of value`,
    };
  }
  return {
    name: source.name,
    pg: pgCanonicalOf(target, quoted.pg, mapping.selectExpr(quoted.pg)),
    duck: duckCanonicalOf(target, quoted.duck),
    domain: target,
  };
}

export function isUncompared(c: CanonicalColumn | UncomparedColumn): c is UncomparedColumn {
  return (c as UncomparedColumn).reason !== undefined;
}
