/**
 * A source relation's columns as the catalog describes them, domains resolved to their base types,
 * in one catalog query. Tables, partitioned tables, views, materialized views and foreign tables
 * are all valid sources. Schema and table names are exact (not identifier-folded) and always bound
 * as parameters.
 *
 * Works with a client from connectPostgres() (identity parsers: every value is text) or a default one.
 */
import type pg from 'pg';
import type { PgColumn } from '../schema/column.js';

/*
 * res walks, per column, from the declared type through any chain of domains to the base type
 * (kind 'c'); when that base is an array it continues into the element type and through *its*
 * domains (kind 'e'). The typmod that applies is the first one met: the column's own (numeric(12,2)
 * or numeric(12,2)[]), else the domain's typtypmod (CREATE DOMAIN money2 AS numeric(12,2)).
 * numeric typmod: precision = ((typmod-4) >> 16) & 65535, scale = the low 11 bits, sign-extended
 * (Postgres 15+ allows a negative scale; older servers only use 0..1000, which decode the same).
 */
const COLUMNS_SQL = `
WITH RECURSIVE rel AS (
  SELECT c.oid
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
),
cols AS (
  SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attgenerated
  FROM pg_catalog.pg_attribute a
  JOIN rel ON a.attrelid = rel.oid
  WHERE a.attnum > 0 AND NOT a.attisdropped
),
res (attnum, kind, typid, typmod, depth) AS (
  SELECT attnum, 'c'::text, atttypid, atttypmod, 0 FROM cols
  UNION ALL
  SELECT r.attnum,
         CASE WHEN t.typtype = 'd' THEN r.kind ELSE 'e' END,
         CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END,
         CASE WHEN t.typtype = 'd' AND r.typmod = -1 THEN t.typtypmod ELSE r.typmod END,
         r.depth + 1
  FROM res r
  JOIN pg_catalog.pg_type t ON t.oid = r.typid
  WHERE t.typtype = 'd'
     OR (r.kind = 'c' AND t.typcategory = 'A' AND t.typelem <> 0 AND left(t.typname, 1) = '_')
),
base AS (
  SELECT DISTINCT ON (attnum, kind) attnum, kind, typid, typmod
  FROM res
  ORDER BY attnum, kind, depth DESC
)
SELECT c.attnum,
       c.attname,
       format_type(c.atttypid, c.atttypmod) AS declared_type,
       CASE WHEN e.typid IS NOT NULL THEN format_type(e.typid, e.typmod) || '[]'
            ELSE format_type(b.typid, b.typmod) END AS base_type,
       coalesce(at.typname, bt.typname) AS typname,
       bt.typtype,
       et.typname AS elem_typname,
       et.typtype AS elem_typtype,
       CASE WHEN coalesce(et.oid, bt.oid) = 'pg_catalog.numeric'::pg_catalog.regtype AND coalesce(e.typmod, b.typmod) >= 4
            THEN ((coalesce(e.typmod, b.typmod) - 4) >> 16) & 65535 END AS numeric_precision,
       CASE WHEN coalesce(et.oid, bt.oid) = 'pg_catalog.numeric'::pg_catalog.regtype AND coalesce(e.typmod, b.typmod) >= 4
            THEN (((coalesce(e.typmod, b.typmod) - 4) & 2047) # 1024) - 1024 END AS numeric_scale,
       -- NOT NULL only once validated: Postgres 18's NOT NULL ... NOT VALID sets attnotnull while old rows
       -- may still hold NULL (found by review: the NULL-cursor sweep was skipped and those rows lost).
       c.attnotnull AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                                    WHERE k.conrelid = rel.oid AND k.contype = 'n' AND NOT k.convalidated AND c.attnum = ANY (k.conkey)) AS not_null,
       c.attgenerated <> '' AS generated
FROM rel
LEFT JOIN cols c ON true
LEFT JOIN base b ON b.attnum = c.attnum AND b.kind = 'c'
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = b.typid
LEFT JOIN base e ON e.attnum = c.attnum AND e.kind = 'e'
LEFT JOIN pg_catalog.pg_type et ON et.oid = e.typid
LEFT JOIN pg_catalog.pg_type at ON at.oid = et.typarray
ORDER BY c.attnum`;

const PRIMARY_KEY_SQL = `
SELECT a.attname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
ORDER BY k.ord`;

type Cell = string | number | boolean | null;

const toBool = (v: Cell): boolean => v === true || v === 't';
const toInt = (v: Cell): number | null => (v === null ? null : Number(v));
const toStr = (v: Cell): string | null => (v === null ? null : String(v));

/**
 * The columns of schema.table in attnum order, or null when no such table/view exists (or this role
 * cannot see it). A relation with no columns gives []. Generated columns (stored, or virtual on
 * Postgres 18+) are included and flagged; their values are read like any other column's.
 */
export async function introspectTable(client: pg.Client, schema: string, table: string): Promise<PgColumn[] | null> {
  // Named: prepared once per connection (the extract asks before every batch), so a later batch pays the execution alone.
  const res = await client.query<Record<string, Cell>>({ name: 'pgduck_table_columns', text: COLUMNS_SQL, values: [schema, table] });
  if (res.rows.length === 0) return null;
  return res.rows
    .filter((r) => r.attnum !== null)
    .map((r) => ({
      name: String(r.attname),
      attnum: Number(r.attnum),
      declaredType: String(r.declared_type),
      baseType: String(r.base_type),
      typname: String(r.typname),
      typtype: String(r.typtype),
      elemTypname: toStr(r.elem_typname),
      elemTyptype: toStr(r.elem_typtype),
      numericPrecision: toInt(r.numeric_precision),
      numericScale: toInt(r.numeric_scale),
      notNull: toBool(r.not_null),
      generated: toBool(r.generated),
    }));
}

/** The primary-key columns of schema.table in key order; null when it has none (views never do) or does not exist. */
export async function introspectPrimaryKey(client: pg.Client, schema: string, table: string): Promise<string[] | null> {
  const res = await client.query<Record<string, Cell>>({ text: PRIMARY_KEY_SQL, values: [schema, table] });
  return res.rows.length === 0 ? null : res.rows.map((r) => String(r.attname));
}

const SHAPE_SQL = `
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS declared_type,
       (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_position
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY a.attnum`;

export interface TableShape {
  /** attnum, name and format_type of the declared type, in attnum order. */
  columns: { attnum: number; name: string; declaredType: string }[];
  /** The table's primary key in key order; null when it has none. */
  primaryKey: string[] | null;
}

/**
 * A cheap look at the table (one small catalog query, no domain resolution): enough to see whether a
 * column's declared type changed since introspectTable() and what the primary key is now.
 * Null when the table does not exist.
 */
export async function introspectShape(client: pg.Client, schema: string, table: string): Promise<TableShape | null> {
  // Named: prepared once per connection, so the per-batch cost is the execution alone.
  const res = await client.query<Record<string, Cell>>({ name: 'pgduck_table_shape', text: SHAPE_SQL, values: [schema, table] });
  if (res.rows.length === 0) return null;
  const columns = res.rows.map((r) => ({ attnum: Number(r.attnum), name: String(r.attname), declaredType: String(r.declared_type) }));
  const keyed = res.rows.filter((r) => r.pk_position !== null).sort((a, b) => Number(a.pk_position) - Number(b.pk_position));
  return { columns, primaryKey: keyed.length > 0 ? keyed.map((r) => String(r.attname)) : null };
}

/** Whether the table exists (and this role can see it): one catalog lookup, no lock taken. */
export async function tableExists(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const res = await client.query({ text: `SELECT to_regclass(quote_ident($1) || '.' || quote_ident($2)) IS NOT NULL AS present`, values: [schema, table] });
  const present = (res.rows[0] as { present: unknown } | undefined)?.present;
  return present === true || present === 't';
}
