/**
 * Postgres column → (Postgres SELECT expression, Arrow/Parquet transport, DuckDB load expression, DuckDB type).
 *
 * Rule (docs/architecture.md, rule 10 "Types: exact or refused"): every value arrives exactly, or the
 * column is refused up front with a reason. Where a *value* has no DuckDB equivalent although the type
 * does (numeric NaN in a DECIMAL column, an infinite interval, a multidimensional array, a timestamp
 * past DuckDB's year 294247), the load fails with an error naming the column and the value; nothing is
 * rounded, clamped or dropped.
 *
 * Everything here is pure: `plan` prints it, the extract stage builds its SELECT from `selectExpr`, the
 * upsert stage reads the Parquet file through `loadExpr`.
 *
 * Things measured on DuckDB 1.5.6 that shaped this file:
 * - `CAST('0044-03-15 BC' AS DATE)` silently gives the year 44 *AD*: Postgres' ` BC` suffix is rewritten to
 *   DuckDB's `(BC)` form before casting.
 * - DuckDB parses neither Postgres-style (`1 year 2 mons -3 days +04:05:06.5`) nor ISO 8601 (`P1Y2M…`)
 *   interval text. The session runs with IntervalStyle=iso_8601 (connect.ts) and the ISO text is taken
 *   apart here into months, days and microseconds: the same three fields both databases store.
 * - `CAST(json AS VARCHAR[])` re-prints JSON numbers (`1.10` → `1.1`): array elements therefore always
 *   travel as JSON *strings* (the element's Postgres text) and are cast per element in DuckDB.
 * - `CAST(x AS DECIMAL(p,s))` and `CAST(x AS BIGINT)` round silently; only exact texts reach them.
 * - `CAST(text AS JSON)` keeps the text verbatim (whitespace, duplicate keys, 20-digit integers).
 */
import type { ColumnMapping, PgColumn, RefusedColumn, Transport } from './column.js';
import { quoteLiteral } from '../sql/identifier.js';

export function isRefused(m: ColumnMapping | RefusedColumn): m is RefusedColumn {
  return (m as RefusedColumn).reason !== undefined;
}

// ---------------------------------------------------------------------------------------------------
// DuckDB expression helpers. `x` is always a column reference or a lambda parameter (cheap to repeat).

/** Lambda parameter used for array elements; unlikely to shadow a column name. */
const ELEM = 'pgduck_elem';

function fail(column: string, message: string, valueExpr?: string): string {
  const text = quoteLiteral(`pgduck: column ${JSON.stringify(column)}: ${message}${valueExpr ? ': ' : ''}`);
  return `error(${valueExpr ? `${text} || ${valueExpr}` : text})`;
}

/** CAST that fails loudly, naming the column and the value, instead of DuckDB's anonymous conversion error. */
function castOrFail(x: string, duckType: string, column: string, valueExpr: string = x): string {
  return `CASE WHEN ${x} IS NULL THEN NULL ELSE coalesce(TRY_CAST(${x} AS ${duckType}), ${fail(column, `cannot load as ${duckType}`, valueExpr)}) END`;
}

/** Postgres prints BC dates as `0044-03-15 BC` / `0044-03-15 12:00:00+00 BC`; DuckDB wants `0044-03-15 (BC) …`. */
function temporal(duckType: string) {
  return (x: string, column: string) =>
    castOrFail(`CASE WHEN ends_with(${x}, ' BC') THEN regexp_replace(${x}, '^(\\d+-\\d+-\\d+)(.*) BC$', '\\1 (BC)\\2') ELSE ${x} END`, duckType, column, x);
}

/** Postgres IntervalStyle=iso_8601 output: every field signed separately, zero fields omitted (`PT0S` for zero). */
const ISO_INTERVAL = '^P(?:(-?\\d+)Y)?(?:(-?\\d+)M)?(?:(-?\\d+)D)?(?:T(?:(-?\\d+)H)?(?:(-?\\d+)M)?(?:(-?\\d+(?:\\.\\d+)?)S)?)?$';

function intervalLoad(x: string, column: string): string {
  const re = quoteLiteral(ISO_INTERVAL);
  const part = (group: number, type: string) => `coalesce(CAST(nullif(regexp_extract(${x}, ${re}, ${group}), '') AS ${type}), 0)`;
  const months = `CAST(${part(1, 'BIGINT')} * 12 + ${part(2, 'BIGINT')} AS INTEGER)`;
  const days = `CAST(${part(3, 'BIGINT')} AS INTEGER)`;
  const micros =
    `CAST(${part(4, 'HUGEINT')} * 3600000000 + ${part(5, 'HUGEINT')} * 60000000 + ` + `CAST(${part(6, 'DECIMAL(18,6)')} * 1000000 AS HUGEINT) AS BIGINT)`;
  return (
    `CASE WHEN ${x} IS NULL THEN NULL ` +
    `WHEN ${x} IN ('infinity', '-infinity') THEN ${fail(column, 'DuckDB INTERVAL has no infinity', x)} ` +
    `WHEN NOT regexp_full_match(${x}, ${re}) THEN ${fail(column, 'interval text is not ISO 8601 (the session must use IntervalStyle=iso_8601)', x)} ` +
    `ELSE to_months(${months}) + to_days(${days}) + to_microseconds(${micros}) END`
  );
}

// ---------------------------------------------------------------------------------------------------
// One row per Postgres scalar type.

type Load = (x: string, column: string) => string;

interface Scalar {
  duck: string;
  /** Transport when the column is this scalar (array columns always travel as utf8 JSON text). */
  transport: Transport;
  /** Postgres expression for a scalar column; default: the column itself (its text output). */
  select?: (c: string) => string;
  /** DuckDB expression from the scalar column's Parquet value. */
  load: Load;
  /** Postgres expression turning an array column into a JSON array of element *strings*. */
  arrayJson?: (c: string) => string;
  /** DuckDB expression from one element's text to the element's DuckDB value; null: the text itself. */
  elem: Load | null;
  note?: string;
}

const identity: Load = (x) => x;
const cast =
  (duckType: string): Load =>
  (x) =>
    `CAST(${x} AS ${duckType})`;
const checkedCast =
  (duckType: string): Load =>
  (x, column) =>
    castOrFail(x, duckType, column);

/** Elements via the output function (to_json of a string-category type), not the `::text` cast, which differs. */
const viaOutputFunction = (c: string) => `array_to_json(${c})`;

const text = (note?: string): Scalar => ({ duck: 'VARCHAR', transport: 'utf8', load: identity, elem: null, note });

const int = (duck: string, transport: Transport): Scalar => ({ duck, transport, load: cast(duck), elem: checkedCast(duck) });

const SCALARS: Record<string, Scalar> = {
  int2: int('SMALLINT', 'int16'),
  int4: int('INTEGER', 'int32'),
  int8: int('BIGINT', 'int64'),
  oid: { ...int('BIGINT', 'int64'), note: 'unsigned 32-bit, widened to BIGINT' },
  float4: {
    duck: 'FLOAT',
    transport: 'float32',
    // float4 → float8 is exact, and the float8 text is the shortest exact form JS parses without double rounding.
    select: (c) => `${c}::float8`,
    load: cast('FLOAT'),
    arrayJson: (c) => `array_to_json(${c}::float8[]::text[])`,
    elem: (x, column) => `CAST(${castOrFail(x, 'DOUBLE', column)} AS FLOAT)`,
    note: 'NaN, ±Infinity and -0 kept; read as its exact float8 text',
  },
  float8: { duck: 'DOUBLE', transport: 'float64', load: cast('DOUBLE'), elem: checkedCast('DOUBLE'), note: 'NaN, ±Infinity and -0 kept' },
  bool: { duck: 'BOOLEAN', transport: 'bool', load: cast('BOOLEAN'), elem: checkedCast('BOOLEAN') },

  text: text(),
  varchar: text(),
  name: text(),
  bpchar: { ...text('blank-padded as Postgres prints it'), arrayJson: viaOutputFunction },
  char: { ...text('"char" (one byte) as Postgres prints it'), arrayJson: viaOutputFunction },
  citext: text('case-insensitive comparison is not kept: DuckDB compares VARCHAR case-sensitively'),

  uuid: { duck: 'UUID', transport: 'utf8', load: checkedCast('UUID'), elem: checkedCast('UUID') },
  json: {
    duck: 'JSON',
    transport: 'utf8',
    load: checkedCast('JSON'),
    elem: checkedCast('JSON'),
    note: 'text kept verbatim (whitespace, key order, duplicate keys, big numbers); a lone \\ud800-style escape, which Postgres json accepts, fails the load',
  },
  jsonb: {
    duck: 'JSON',
    transport: 'utf8',
    load: checkedCast('JSON'),
    elem: checkedCast('JSON'),
    note: 'text as Postgres prints it; numbers keep every digit',
  },

  timestamp: {
    duck: 'TIMESTAMP',
    transport: 'utf8',
    load: temporal('TIMESTAMP'),
    elem: temporal('TIMESTAMP'),
    note: 'µs exact; ±infinity and BC kept; values after 294247-01-10 (DuckDB max) fail the load',
  },
  timestamptz: {
    duck: 'TIMESTAMPTZ',
    transport: 'utf8',
    load: temporal('TIMESTAMPTZ'),
    elem: temporal('TIMESTAMPTZ'),
    note: 'µs exact, read in UTC; ±infinity and BC kept; values after 294247-01-10 fail the load',
  },
  date: { duck: 'DATE', transport: 'utf8', load: temporal('DATE'), elem: temporal('DATE'), note: '±infinity and BC kept' },
  time: { duck: 'TIME', transport: 'utf8', load: checkedCast('TIME'), elem: checkedCast('TIME'), note: 'µs exact, 24:00:00 kept' },
  timetz: { duck: 'TIMETZ', transport: 'utf8', load: checkedCast('TIMETZ'), elem: checkedCast('TIMETZ'), note: 'µs exact, offset kept' },
  interval: {
    duck: 'INTERVAL',
    transport: 'utf8',
    load: intervalLoad,
    elem: intervalLoad,
    note: 'months, days and µs kept separately, mixed signs too (ISO 8601 text, IntervalStyle=iso_8601); infinite intervals (Postgres 17+) fail the load',
  },
  bytea: {
    duck: 'BLOB',
    transport: 'utf8',
    select: (c) => `encode(${c}, 'hex')`,
    load: (x) => `from_hex(${x})`,
    elem: (x, column) =>
      `CASE WHEN ${x} IS NULL THEN NULL WHEN starts_with(${x}, '\\x') THEN from_hex(substr(${x}, 3)) ` +
      `ELSE ${fail(column, 'bytea element is not hex (the session must use bytea_output=hex)', x)} END`,
    note: 'carried as hex; every byte kept (NUL too)',
  },
  money: {
    ...text('as plain numeric text (money::numeric): the currency symbol and grouping of lc_monetary are dropped'),
    select: (c) => `${c}::numeric`,
    arrayJson: (c) => `array_to_json(${c}::numeric[]::text[])`,
  },
  inet: { ...text('exact text (DuckDB has no built-in inet type)'), arrayJson: viaOutputFunction },
  cidr: { ...text('exact text (DuckDB has no built-in inet type)'), arrayJson: viaOutputFunction },
  macaddr: text('exact text'),
  macaddr8: text('exact text'),
  bit: text('exact text of 0/1 digits'),
  varbit: text('exact text of 0/1 digits'),
  xml: text('exact text'),
  tsvector: text('exact text (no DuckDB equivalent)'),
  tsquery: text('exact text (no DuckDB equivalent)'),
  point: text('exact text (no DuckDB geometric type)'),
  line: text('exact text (no DuckDB geometric type)'),
  lseg: text('exact text (no DuckDB geometric type)'),
  box: text('exact text (no DuckDB geometric type)'),
  path: text('exact text (no DuckDB geometric type)'),
  polygon: text('exact text (no DuckDB geometric type)'),
  circle: text('exact text (no DuckDB geometric type)'),
  pg_lsn: text('exact text'),
  regclass: text('the name as Postgres prints it (depends on search_path), not the oid'),
  regtype: text('the name as Postgres prints it (depends on search_path), not the oid'),
  regproc: text('the name as Postgres prints it (depends on search_path), not the oid'),
};

const NUMERIC_TEXT: Scalar = {
  ...text('unconstrained numeric (or wider than DECIMAL(38)): exact text, NaN and ±Infinity included'),
};

function decimalType(precision: number | null, scale: number | null): string | null {
  if (precision === null || scale === null) return null;
  // numeric(p,s) with s < 0 (Postgres 15+) holds integers of p - s digits; with s > p, fractions of s digits.
  const [p, s] = scale < 0 ? [precision - scale, 0] : scale > precision ? [scale, scale] : [precision, scale];
  return p >= 1 && p <= 38 ? `DECIMAL(${p},${s})` : null;
}

function decimalScalar(duck: string): Scalar {
  const load: Load = (x, column) =>
    `CASE WHEN ${x} = 'NaN' THEN ${fail(column, `numeric NaN has no ${duck} value (declare the column as plain numeric to sync it as exact text)`)} ` +
    `ELSE ${castOrFail(x, duck, column)} END`;
  return {
    duck,
    transport: 'utf8',
    load,
    elem: load,
    note: 'exact (from text); a NaN value fails the load: declare the column plain numeric to sync NaN as text',
  };
}

const ENUM_TEXT: Scalar = text(
  'the label as text (new labels need nothing; a renamed label, `ALTER TYPE … RENAME VALUE`, is seen and its rows read again, a key holding it being a changed key)',
);

const RANGE_TEXT: Scalar = text('exact text (DuckDB has no range type)');

/**
 * to_json drops every array lower bound, at any depth of a composite (found by review: a field
 * `'[0:1]={1,2}'` arrived as `[1,2]`, equal to its bound-1 twin, and verify, comparing to_json on both
 * sides, called it equal). Postgres prints an array's bounds only when one is not 1 (`[0:1]={1,2}`), so
 * a value whose text holds a field (or element) starting so, after its quotes, is sent as `!` (no JSON
 * text starts so) and stops the load, naming the column, as an int[] with another bound does. The
 * text, not a rebuild of the value from its JSON: that changed a json field's spacing and re-checked
 * domain constraints, stopping values that sync exactly (found by the review of this change).
 */
const lostBound = (v: string) => `${v}::text ~ '(^|[(,{])["\\\\]*(\\[-?[0-9]+:-?[0-9]+\\])+='`;
const LOST_BOUND = 'array lower bound is not 1 (the bound would be lost)';
const notLostBound = (column: string, load: (x: string) => string) => (x: string) =>
  `CASE WHEN starts_with(${x}, '!') THEN ${fail(column, LOST_BOUND, `substr(${x}, 2)`)} ELSE ${load(x)} END`;

const COMPOSITE: Scalar = {
  duck: 'JSON',
  transport: 'utf8',
  select: (c) => `CASE WHEN ${lostBound(c)} THEN '!' || ${c}::text ELSE to_json(${c})::text END`,
  load: (x, column) => notLostBound(column, (v) => checkedCast('JSON')(v, column))(x),
  arrayJson: undefined,
  elem: null,
  note: 'composite value as a JSON object (to_json): field names kept, field values in Postgres JSON form; an array in it with a lower bound ≠ 1 stops the pipeline (the bound would be lost); a field renamed, added or dropped (`ALTER TYPE`) is seen and the rows read again',
};

/** A base type with no entry in SCALARS (an extension's type: hstore, vector, …). */
const otherType = (typname: string): Scalar => text(`exact text of ${typname} (no DuckDB equivalent)`);

const pseudoType = (typname: string) => `pseudo-type ${typname} cannot be stored`;

/** The scalar mapping of a non-array, non-domain type, or a refusal reason. */
function scalarFor(typname: string, typtype: string, precision: number | null, scale: number | null): Scalar | string {
  switch (typtype) {
    case 'p':
      return pseudoType(typname);
    case 'd':
      return `domain ${typname} was not resolved to its base type`;
    case 'e':
      return ENUM_TEXT;
    case 'r':
    case 'm':
      return RANGE_TEXT;
    case 'c':
      return COMPOSITE;
    case 'b':
      break;
    default:
      return `unknown kind of type (typtype ${JSON.stringify(typtype)})`;
  }
  if (typname === 'numeric') {
    const duck = decimalType(precision, scale);
    return duck ? decimalScalar(duck) : NUMERIC_TEXT;
  }
  return SCALARS[typname] ?? otherType(typname);
}

// ---------------------------------------------------------------------------------------------------

const COMPOSITE_ARRAY_NOTE =
  'array of composites as a JSON array of objects (to_json); a lower bound ≠ 1, of any dimension or of an array inside an element, stops the pipeline (the bound would be lost)';

const ARRAY_NOTE = 'one-dimensional, lower bound 1; other arrays fail the load';

/** Arrays travel as a JSON array of their elements' Postgres texts (strings, so DuckDB never re-prints a number). */
const ARRAY_TRANSPORT = 'utf8 (JSON of element texts)';

function isArray(col: PgColumn): boolean {
  return col.elemTypname !== null && col.typname.startsWith('_');
}

export function mapColumn(col: PgColumn): ColumnMapping | RefusedColumn {
  const base = { name: col.name, attnum: col.attnum, pgType: col.declaredType };
  const refuse = (reason: string): RefusedColumn => ({ name: col.name, pgType: col.declaredType, reason });

  if (!isArray(col)) {
    const s = scalarFor(col.typname, col.typtype, col.numericPrecision, col.numericScale);
    if (typeof s === 'string') return refuse(s);
    const select = s.select;
    return {
      ...base,
      duckType: s.duck,
      transport: s.transport,
      selectExpr: select ? (c) => select(c) : (c) => c,
      loadExpr: (c) => s.load(c, col.name),
      ...(s.note ? { note: s.note } : {}),
    };
  }

  const elemTypname = col.elemTypname as string;
  const e = scalarFor(elemTypname, col.elemTyptype ?? 'b', col.numericPrecision, col.numericScale);
  if (typeof e === 'string') return refuse(`array of ${elemTypname}: ${e}`);

  if (col.elemTyptype === 'c') {
    return {
      ...base,
      duckType: 'JSON',
      transport: 'utf8',
      // to_json drops lower bounds, as array_to_json does for other arrays: a non-1 lower bound, of any
      // dimension or inside an element (lostBound), is sent as `!<dimensions>` (no JSON text starts
      // so) and stops the load, as it does for int[].
      selectExpr: (c) =>
        `CASE WHEN array_dims(${c}) !~ '^(\\[1:[0-9]+\\])+$' OR ${lostBound(c)} ` +
        `THEN '!' || CASE WHEN array_lower(${c}, 1) <> 1 THEN array_lower(${c}, 1)::text ELSE array_dims(${c}) END ELSE to_json(${c})::text END`,
      loadExpr: notLostBound(col.name, (c) => castOrFail(c, 'JSON', col.name)),
      note: COMPOSITE_ARRAY_NOTE,
    };
  }

  const arrayJson = e.arrayJson ?? ((c: string) => `array_to_json(${c}::text[])`);
  const elem = e.elem;
  return {
    ...base,
    duckType: `${e.duck}[]`,
    transport: 'utf8',
    // A JSON array of the elements' Postgres texts (strings, so DuckDB never re-prints a number).
    // array_to_json drops lower bounds: a non-1 lower bound is sent as `!<bound>` so the load can refuse it.
    selectExpr: (c) => `CASE WHEN array_lower(${c}, 1) <> 1 THEN '!' || array_lower(${c}, 1) ELSE ${arrayJson(c)}::text END`,
    loadExpr: (c) => {
      const list = `CAST(CAST(${c} AS JSON) AS VARCHAR[])`;
      const value = elem ? `list_transform(${list}, lambda ${ELEM}: ${elem(ELEM, col.name)})` : list;
      return (
        `CASE WHEN ${c} IS NULL THEN NULL ` +
        `WHEN starts_with(${c}, '[[') THEN ${fail(col.name, 'multidimensional arrays are not synced (DuckDB lists are one-dimensional)', c)} ` +
        `WHEN starts_with(${c}, '!') THEN ${fail(col.name, 'array lower bound is not 1 (the bound would be lost)', `substr(${c}, 2)`)} ` +
        `ELSE ${value} END`
      );
    },
    note: e.note ? `${ARRAY_NOTE}; elements: ${e.note}` : ARRAY_NOTE,
  };
}

// ---------------------------------------------------------------------------------------------------

export interface TypeTableRow {
  postgres: string;
  transport: string;
  duckdb: string;
  note: string;
}

/**
 * How the type table (README, `plan`) groups the mapping: one row per family, each type under the name
 * people write. A row's transport, DuckDB type and notes are read from the mapping itself (SCALARS and
 * the rules above), so the table cannot say other than the code does; a test fails when a SCALARS type
 * is in no family.
 */
const FAMILIES: readonly Record<string, Scalar>[] = [
  { smallint: SCALARS.int2, integer: SCALARS.int4, bigint: SCALARS.int8 },
  { oid: SCALARS.oid },
  { real: SCALARS.float4, 'double precision': SCALARS.float8 },
  { boolean: SCALARS.bool },
  { 'numeric(p,s), p ≤ 38 (s < 0: DECIMAL(p-s,0); s > p: DECIMAL(s,s))': decimalScalar('DECIMAL(p,s)') },
  { 'numeric, numeric(p,s) p > 38': NUMERIC_TEXT },
  { text: SCALARS.text, 'varchar(n)': SCALARS.varchar, name: SCALARS.name, 'char(n)': SCALARS.bpchar, '"char"': SCALARS.char },
  { citext: SCALARS.citext },
  { enum: ENUM_TEXT },
  { uuid: SCALARS.uuid },
  { json: SCALARS.json },
  { jsonb: SCALARS.jsonb },
  { timestamp: SCALARS.timestamp },
  { timestamptz: SCALARS.timestamptz },
  { date: SCALARS.date },
  { time: SCALARS.time },
  { timetz: SCALARS.timetz },
  { interval: SCALARS.interval },
  { bytea: SCALARS.bytea },
  { money: SCALARS.money },
  { inet: SCALARS.inet, cidr: SCALARS.cidr },
  { macaddr: SCALARS.macaddr, macaddr8: SCALARS.macaddr8, xml: SCALARS.xml, pg_lsn: SCALARS.pg_lsn },
  { bit: SCALARS.bit, varbit: SCALARS.varbit },
  { tsvector: SCALARS.tsvector, tsquery: SCALARS.tsquery },
  { point: SCALARS.point, line: SCALARS.line, lseg: SCALARS.lseg, box: SCALARS.box, path: SCALARS.path, polygon: SCALARS.polygon, circle: SCALARS.circle },
  { regclass: SCALARS.regclass, regtype: SCALARS.regtype, regproc: SCALARS.regproc },
  { 'range, multirange': RANGE_TEXT },
  { 'any other type (extensions: hstore, vector, …)': otherType('the type') },
  { 'composite (row) types': COMPOSITE },
];

const distinct = (xs: string[]) => [...new Set(xs)];

function familyRow(family: Record<string, Scalar>): TypeTableRow {
  const members = Object.entries(family);
  const notes = distinct(members.flatMap(([, s]) => (s.note ? [s.note] : [])));
  // A note every member shares is said once; any other is said with the names it applies to.
  const shared = notes.length === 1 && members.every(([, s]) => s.note === notes[0]);
  return {
    postgres: members.map(([name]) => name).join(', '),
    transport: distinct(members.map(([, s]) => s.transport)).join(', '),
    duckdb: distinct(members.map(([, s]) => s.duck)).join(', '),
    note: shared
      ? notes[0]
      : notes
          .map(
            (n) =>
              `${members
                .filter(([, s]) => s.note === n)
                .map(([name]) => name)
                .join(', ')}: ${n}`,
          )
          .join('; '),
  };
}

/** Rows for what is decided around the scalar mapping: arrays, domains, generated columns, refusals. */
const RULE_ROWS: readonly TypeTableRow[] = [
  { postgres: 'arrays of the above', transport: ARRAY_TRANSPORT, duckdb: 'T[] (LIST)', note: `${ARRAY_NOTE}; empty arrays and NULL elements kept` },
  { postgres: 'arrays of composite types', transport: 'utf8', duckdb: 'JSON', note: COMPOSITE_ARRAY_NOTE },
  {
    postgres: 'domains',
    transport: 'as the base type',
    duckdb: 'as the base type',
    note: "resolved to the base type with the domain's typmod (a numeric(12,2) domain → DECIMAL(12,2)); CHECK constraints are not copied",
  },
  { postgres: 'generated columns (stored, virtual)', transport: 'as their type', duckdb: 'as their type', note: 'the computed value is read like any column' },
  { postgres: 'pseudo-types', transport: '—', duckdb: 'refused', note: `no stored value: refused up front, naming the column (${pseudoType('<type>')})` },
];

/** The type table `plan` prints and the README carries (scripts/readme-types.ts; a test fails when the README copy is stale). */
export const TYPE_TABLE: readonly TypeTableRow[] = [...FAMILIES.map(familyRow), ...RULE_ROWS];

/** SCALARS types the table shows in no row (empty, or the table hides a mapping). */
export function typesMissingFromTable(): string[] {
  const shown = new Set(FAMILIES.flatMap((f) => Object.values(f)));
  return Object.keys(SCALARS).filter((typname) => !shown.has(SCALARS[typname]));
}

export function typeTableMarkdown(): string {
  const rows = TYPE_TABLE.map((r) => `| ${r.postgres} | ${r.transport} | ${r.duckdb} | ${r.note} |`);
  return ['| Postgres | transport (Parquet) | DuckDB | note |', '|---|---|---|---|', ...rows].join('\n');
}
