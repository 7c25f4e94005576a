/**
 * A PgColumn rebuilt from a base type as Postgres' format_type() prints it (`integer`,
 * `numeric(12,2)`, `character varying(20)[]`, `timestamp(3) with time zone`), without a catalog.
 *
 * For Parquet history files written before they carried their columns' catalog description: the
 * state store keeps each source column's base type in that spelling (source_columns), and mapColumn
 * then gives the mapping the runner used. Built-in types are recognised by name; any other name (an
 * enum, a range, an extension type) is taken as a type Postgres prints as text, which is how those
 * travel (a composite type, which travels as JSON text, then loads as VARCHAR text into its JSON column).
 */
import type { PgColumn } from './column.js';

const BUILTIN: [RegExp, string][] = [
  [/^smallint$/, 'int2'],
  [/^integer$/, 'int4'],
  [/^bigint$/, 'int8'],
  [/^oid$/, 'oid'],
  [/^real$/, 'float4'],
  [/^double precision$/, 'float8'],
  [/^boolean$/, 'bool'],
  [/^numeric(\(.*\))?$/, 'numeric'],
  [/^text$/, 'text'],
  [/^character varying(\(\d+\))?$/, 'varchar'],
  [/^character(\(\d+\))?$/, 'bpchar'],
  [/^"char"$/, 'char'],
  [/^name$/, 'name'],
  [/^uuid$/, 'uuid'],
  [/^jsonb?$/, ''],
  [/^timestamp(\(\d\))? without time zone$/, 'timestamp'],
  [/^timestamp(\(\d\))? with time zone$/, 'timestamptz'],
  [/^date$/, 'date'],
  [/^time(\(\d\))? without time zone$/, 'time'],
  [/^time(\(\d\))? with time zone$/, 'timetz'],
  [/^interval\b.*$/, 'interval'],
  [/^bytea$/, 'bytea'],
  [/^money$/, 'money'],
  [/^bit varying(\(\d+\))?$/, 'varbit'],
  [/^bit(\(\d+\))?$/, 'bit'],
];

function typnameOf(formatted: string): { typname: string; typtype: string } {
  for (const [re, typname] of BUILTIN) if (re.test(formatted)) return { typname: typname || formatted, typtype: 'b' };
  // Names format_type prints as themselves (citext, inet, xml, tsvector, point, pg_lsn, …) are the typname.
  // Anything else, schema-qualified or quoted, is taken as an enum: its label travels and loads as text.
  return /^[a-z_][a-z0-9_]*$/.test(formatted) ? { typname: formatted, typtype: 'b' } : { typname: formatted, typtype: 'e' };
}

export function pgColumnFromFormatType(name: string, attnum: number, baseType: string, declaredType: string = baseType): PgColumn {
  const array = baseType.endsWith('[]');
  const scalar = array ? baseType.slice(0, -2) : baseType;
  const { typname, typtype } = typnameOf(scalar);
  const numeric = /^numeric\((\d+)(?:,(-?\d+))?\)$/.exec(scalar);
  return {
    name,
    attnum,
    declaredType,
    baseType,
    typname: array ? `_${typname}` : typname,
    typtype: array ? 'b' : typtype,
    elemTypname: array ? typname : null,
    elemTyptype: array ? typtype : null,
    numericPrecision: numeric ? Number(numeric[1]) : null,
    numericScale: numeric ? Number(numeric[2] ?? 0) : null,
    notNull: false,
    generated: false,
  };
}
