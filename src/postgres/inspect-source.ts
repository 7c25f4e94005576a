/**
 * What `pgduck validate --connect` and `pgduck plan --connect` need to know about a source relation,
 * read from the catalog in a few small queries: its kind, whether this role may read it, its
 * columns (domains resolved, as the extract stage sees them), its indexes and a row estimate.
 * Reads only the catalog: never the table's rows (see cursorHasNulls for the one exception).
 *
 * Works with a client from connectPostgres() (identity parsers: every value is text) or a default one.
 */
import type pg from 'pg';
import type { PgColumn } from '../schema/column.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { sourceReachSql } from './horizon.js';
import { introspectTable } from './introspect-table.js';

export type RelationKind = 'table' | 'partitioned table' | 'view' | 'materialized view' | 'foreign table';

/** One index of the relation, as far as the checks care. */
export interface SourceIndex {
  name: string;
  /** Access method (`btree`, `hash`, `gin`…): only a btree serves an ORDER BY. */
  method: string;
  primary: boolean;
  unique: boolean;
  /** indisvalid && indisready: a failed CREATE INDEX CONCURRENTLY leaves an index that is neither. */
  usable: boolean;
  /** Has a WHERE clause: covers only some rows. */
  partial: boolean;
  /**
   * Two keys the index holds apart are also apart as their columns compare them: each key column is
   * indexed in its own collation (or its collation is deterministic), with an operator class whose
   * equality operator (btree strategy 3) is the one of the default class of the column's type (or of
   * its domain's base type; a type with no class of its own, varchar, takes the one of the class's
   * own type: text_pattern_ops and varchar_pattern_ops use text's `=`, and are keys). False for a
   * unique index `(code COLLATE "C")` on a column of a case-insensitive collation, or `(code
   * text_ops)` on a citext column: 'zz' and 'ZZ' are both allowed, but the keyset read (which
   * compares as the column's type and collation do) takes them for one key and skips the second
   * (both found by review). `record_image_ops` (`*=`) on a composite is refused the same way.
   */
  columnEquality: boolean;
  /** Key columns in index order; null for an expression. INCLUDE columns are left out. */
  columns: (string | null)[];
  /** Per key column: sorted descending. */
  descending: boolean[];
  /** Per key column: NULLS FIRST. */
  nullsFirst: boolean[];
}

export interface SourceRelation {
  schema: string;
  table: string;
  kind: RelationKind;
  /** has_table_privilege(…, 'SELECT') for the connected role. */
  canSelect: boolean;
  columns: PgColumn[];
  indexes: SourceIndex[];
  /**
   * The relations a read of it reads besides itself (sourceReachSql, horizon.ts: through a view's
   * definition, recursively through views, and a partitioned table's partitions), by name; empty for
   * a table. A foreign table among them is written on another server (the horizon cannot see its
   * writers); a table under a view is rewritten (TRUNCATE, reload) without pgduck seeing it.
   */
  reads: { name: string; kind: RelationKind }[];
  /**
   * pg_class.reltuples (summed over leaf partitions for a partitioned table), rounded; null when
   * the table was never vacuumed or analyzed (Postgres 14+ says -1) or for a view.
   */
  rowEstimate: number | null;
  /**
   * Tables that inherit this one (table inheritance: `INHERITS`, `ALTER TABLE … INHERIT`), whose rows a
   * read of it returns and whose keys its primary key does not cover; 0 for any other kind (a
   * partitioned table's partitions are covered by its key).
   */
  inheritanceChildren: number;
  /**
   * Row level security applies to this role here (`row_security_active`: policies enabled on the
   * table, the role neither its owner — unless FORCE — nor BYPASSRLS nor a superuser): a read returns
   * only the rows a policy lets it see, without a word (found by review).
   */
  rowSecurity: boolean;
  /** The database's `server_encoding` (undefined where not read). */
  serverEncoding?: string;
  /**
   * Enabled row-level `BEFORE UPDATE` triggers on the relation (pg_trigger.tgtype: ROW 1 | BEFORE 2 |
   * UPDATE 16): what usually moves a cursor column on every update. Undefined where not read.
   */
  beforeUpdateTriggers?: number;
}

const KINDS: Record<string, RelationKind> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
};

const RELATION_SQL = `
SELECT c.oid::int8::text AS oid,
       c.relkind::text AS relkind,
       has_table_privilege(c.oid, 'SELECT')::text AS can_select,
       CASE WHEN c.relkind = 'p' THEN
              (SELECT CASE WHEN bool_or(l.reltuples < 0) THEN NULL ELSE sum(l.reltuples) END
               FROM pg_catalog.pg_partition_tree(c.oid) t
               JOIN pg_catalog.pg_class l ON l.oid = t.relid
               WHERE t.isleaf)
            WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0 THEN c.reltuples
       END::float8::text AS reltuples,
       CASE WHEN c.relkind = 'r' THEN (SELECT count(*) FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) ELSE 0 END::text AS children,
       (c.relrowsecurity AND pg_catalog.row_security_active(c.oid))::text AS row_security,
       (SELECT count(*) FROM pg_catalog.pg_trigger t
        WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D' AND (t.tgtype & 19) = 19)::text AS update_triggers,
       pg_catalog.current_setting('server_encoding') AS server_encoding
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

// indoption bits (pg_index.h): 1 = DESC, 2 = NULLS FIRST. Arrays travel as JSON text: no array parsing.
const INDEXES_SQL = `
SELECT ic.relname AS name,
       am.amname AS method,
       i.indisprimary::text AS is_primary,
       i.indisunique::text AS is_unique,
       (i.indisvalid AND i.indisready)::text AS usable,
       (i.indpred IS NOT NULL)::text AS partial,
       (SELECT json_agg(a.attname ORDER BY k.ord)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, ord)
        LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
        WHERE k.ord <= i.indnkeyatts)::text AS columns,
       (SELECT json_agg(o.opt ORDER BY o.ord)
        FROM unnest(i.indoption::int2[]) WITH ORDINALITY AS o (opt, ord)
        WHERE o.ord <= i.indnkeyatts)::text AS options,
       (SELECT coalesce(bool_and(
                 (a.attcollation = 0 OR k.coll = a.attcollation OR coalesce(cc.collisdeterministic, false))
                 AND oc.oid IS NOT NULL
                 AND (SELECT x.amopopr FROM pg_catalog.pg_amop x
                      WHERE x.amopfamily = oc.opcfamily AND x.amoplefttype = oc.opcintype AND x.amoprighttype = oc.opcintype AND x.amopstrategy = 3)
                     IS NOT DISTINCT FROM
                     (SELECT x.amopopr FROM pg_catalog.pg_opclass d
                      JOIN pg_catalog.pg_amop x ON x.amopfamily = d.opcfamily AND x.amoplefttype = d.opcintype AND x.amoprighttype = d.opcintype AND x.amopstrategy = 3
                      WHERE d.opcmethod = oc.opcmethod AND d.opcdefault
                        AND d.opcintype = coalesce(
                              (SELECT e.opcintype FROM pg_catalog.pg_opclass e
                               WHERE e.opcmethod = oc.opcmethod AND e.opcdefault AND e.opcintype IN (a.atttypid, bt.base)
                               ORDER BY e.opcintype = a.atttypid DESC LIMIT 1),
                              oc.opcintype)
                      LIMIT 1)), true)
        FROM unnest(i.indkey::int2[], i.indcollation::oid[], i.indclass::oid[]) WITH ORDINALITY AS k (attnum, coll, cls, ord)
        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        LEFT JOIN pg_catalog.pg_collation cc ON cc.oid = a.attcollation
        LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = k.cls
        LEFT JOIN LATERAL (
          WITH RECURSIVE d (t, b) AS (
            SELECT ty.oid, ty.typbasetype FROM pg_catalog.pg_type ty WHERE ty.oid = a.atttypid
            UNION ALL
            SELECT ty.oid, ty.typbasetype FROM pg_catalog.pg_type ty JOIN d ON ty.oid = d.b WHERE d.b <> 0)
          SELECT d.t AS base FROM d WHERE d.b = 0) bt ON true
        WHERE k.ord <= i.indnkeyatts AND k.attnum > 0)::text AS column_equality
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE i.indrelid = $1::int8::oid
ORDER BY i.indisprimary DESC, ic.relname`;

type Cell = string | number | boolean | null;
const bool = (v: Cell) => v === true || v === 't' || v === 'true';

/** The relation `schema.table` as the live checks see it, or null when it does not exist (or this role cannot see it). */
export async function inspectSource(client: pg.Client, schema: string, table: string): Promise<SourceRelation | null> {
  const rel = await client.query<Record<string, Cell>>({ text: RELATION_SQL, values: [schema, table] });
  if (rel.rows.length === 0) return null;
  const row = rel.rows[0];
  const columns = (await introspectTable(client, schema, table)) ?? [];
  const idx = await client.query<Record<string, Cell>>({ text: INDEXES_SQL, values: [String(row.oid)] });
  const reach = await client.query<Record<string, Cell>>({
    text: `SELECT r.relkind, r.name FROM (${sourceReachSql('$1::text', '$2::text')}) r WHERE r.oid <> $3::int8::oid ORDER BY r.name`,
    values: [schema, table, String(row.oid)],
  });
  const indexes = idx.rows.map((r): SourceIndex => {
    const options = JSON.parse(String(r.options ?? '[]')) as number[];
    return {
      name: String(r.name),
      method: String(r.method),
      primary: bool(r.is_primary),
      unique: bool(r.is_unique),
      usable: bool(r.usable),
      partial: bool(r.partial),
      columnEquality: r.column_equality === null ? true : bool(r.column_equality),
      columns: JSON.parse(String(r.columns ?? '[]')) as (string | null)[],
      descending: options.map((o) => (o & 1) !== 0),
      nullsFirst: options.map((o) => (o & 2) !== 0),
    };
  });
  return {
    schema,
    table,
    kind: KINDS[String(row.relkind)],
    canSelect: bool(row.can_select),
    columns,
    indexes,
    reads: reach.rows.filter((r) => KINDS[String(r.relkind)] !== undefined).map((r) => ({ name: String(r.name), kind: KINDS[String(r.relkind)] })),
    rowEstimate: row.reltuples === null ? null : Math.round(Number(row.reltuples)),
    inheritanceChildren: Number(row.children ?? 0),
    rowSecurity: bool(row.row_security),
    serverEncoding: String(row.server_encoding),
    beforeUpdateTriggers: Number(row.update_triggers ?? 0),
  };
}

/**
 * Whether any row has a NULL cursor. The one check that reads the table: with an index on the cursor
 * it is one index probe; without one it scans, so it gives up after `timeoutMs` and answers null.
 */
export async function cursorHasNulls(client: pg.Client, schema: string, table: string, cursor: string, timeoutMs = 5000): Promise<boolean | null> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const res = await client.query<Record<string, Cell>>(
      `SELECT (EXISTS (SELECT 1 FROM ${qualified(schema, table)} WHERE ${quoteIdent(cursor)} IS NULL))::text AS has_nulls`,
    );
    return bool(res.rows[0].has_nulls);
  } catch (err) {
    if ((err as { code?: string }).code === '57014') return null; // statement_timeout
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

/** Names of the relations a pipeline could read in `schema` (for "did you mean" when one is missing). */
export async function relationsIn(client: pg.Client, schema: string): Promise<string[]> {
  const res = await client.query<Record<string, Cell>>({
    text: `SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname`,
    values: [schema],
  });
  return res.rows.map((r) => String(r.relname));
}

/** A relation `pgduck init` may propose, in the order it lists them. */
export interface ListedRelation {
  schema: string;
  table: string;
  kind: RelationKind;
  /** `"schema"."parent"` when this table is a partition of another. */
  partitionOf: string | null;
}

/**
 * Every table, partitioned table, view, materialized view and foreign table in `schemas` that this
 * role can see, by schema then name. Catalog only; names are bound as parameters.
 */
export async function listRelations(client: pg.Client, schemas: readonly string[]): Promise<ListedRelation[]> {
  const res = await client.query<Record<string, Cell>>({
    text: `SELECT n.nspname AS schema, c.relname AS table, c.relkind::text AS relkind,
                  (SELECT quote_ident(pn.nspname) || '.' || quote_ident(p.relname)
                   FROM pg_catalog.pg_inherits i
                   JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
                   JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
                   WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS partition_of
           FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           ORDER BY n.nspname, c.relname`,
    values: [[...schemas]],
  });
  return res.rows.map((r) => ({
    schema: String(r.schema),
    table: String(r.table),
    kind: KINDS[String(r.relkind)],
    partitionOf: r.partition_of === null ? null : String(r.partition_of),
  }));
}
