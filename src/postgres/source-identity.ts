/**
 * Which source a pipeline reads, as Postgres itself names it: the cluster (pg_control_system()'s
 * system_identifier, made by initdb and kept by physical copies of the cluster), the database, and
 * the table's oid (new for a re-created or restored table). Plus the table's relfilenode: a
 * rewriting ALTER TABLE moves it, so values changed without touching the cursor can be noticed.
 */
import type pg from 'pg';

export interface SourceIdentity {
  /** pg_control_system().system_identifier; null where the role may not call it. */
  systemId: string | null;
  database: string;
  tableOid: string;
  /**
   * pg_class.relfilenode, or for a partitioned table its leaves' relfilenodes (by leaf oid, joined
   * with commas: attaching or detaching a partition moves it too), then `;` and the xmin of each
   * attachment (pg_inherits row) in the tree: a partition detached, loaded and attached again keeps
   * its relfilenode, not its attachment (found by review: its rows, with old cursors, were never
   * read). Null for a view or foreign table, whose rewrites cannot be seen here.
   */
  relfilenode: string | null;
  /**
   * The labels of the enum types its columns use (also as array elements or under a domain), as JSON
   * `{"<pg_enum oid>": "<label>"}`; null when it has none (or was recorded before labels were). A label
   * renamed (`ALTER TYPE … RENAME VALUE`) changes every row holding it, without a rewrite or a cursor
   * move (found by review: DuckDB kept the old label, and an enum key's next version landed beside
   * its old row). An added label (`ADD VALUE`) changes no row.
   */
  labels: string | null;
}

const IDENTITY_SQL = `
SELECT current_database() AS database,
       c.oid::int8::text AS table_oid,
       CASE WHEN c.relkind IN ('r', 'm') THEN c.relfilenode::int8::text
            WHEN c.relkind = 'p' THEN
              (SELECT string_agg(l.relfilenode::int8::text, ',' ORDER BY l.oid)
               FROM pg_catalog.pg_partition_tree(c.oid) t
               JOIN pg_catalog.pg_class l ON l.oid = t.relid
               WHERE t.isleaf AND l.relkind IN ('r', 'm'))
              || ';' ||
              coalesce((SELECT string_agg(i.xmin::text, ',' ORDER BY i.inhrelid)
                        FROM pg_catalog.pg_partition_tree(c.oid) t
                        JOIN pg_catalog.pg_inherits i ON i.inhrelid = t.relid AND i.inhparent = t.parentrelid), '')
       END AS relfilenode,
       (SELECT json_object_agg(l.oid::int8::text, l.enumlabel ORDER BY l.oid)
        FROM (SELECT DISTINCT e.oid, e.enumlabel
              FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              LEFT JOIN pg_catalog.pg_type base ON base.oid = t.typbasetype
              JOIN pg_catalog.pg_enum e ON e.enumtypid IN (t.oid, t.typelem, t.typbasetype, base.typelem)
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) l)::text AS labels
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

/**
 * Whether `now` is `was` in the form recorded before attachments were part of a partitioned table's
 * identity (no `;`): the same leaves, so no rewrite; the new form is adopted without a re-read.
 */
export function sameLeavesOlderForm(was: string | null, now: string | null): boolean {
  return was !== null && now !== null && !was.includes(';') && now.includes(';') && now.slice(0, now.indexOf(';')) === was;
}

/** The enum labels renamed between two identities' `labels` (a label present in both under another name); none when either is unknown. */
export function renamedLabels(was: string | null, now: string | null): { from: string; to: string }[] {
  if (was === null || now === null || was === now) return [];
  const before = JSON.parse(was) as Record<string, string>;
  const after = JSON.parse(now) as Record<string, string>;
  return Object.entries(before)
    .filter(([oid, label]) => oid in after && after[oid] !== label)
    .map(([oid, label]) => ({ from: label, to: after[oid] }));
}

/** The identity of `schema.table`, or null when it does not exist (or this role cannot see it). */
export async function readSourceIdentity(client: pg.Client, schema: string, table: string): Promise<SourceIdentity | null> {
  const res = await client.query<Record<string, string | null>>({ text: IDENTITY_SQL, values: [schema, table] });
  if (res.rows.length === 0) return null;
  const row = res.rows[0];
  return {
    systemId: await systemIdentifier(client),
    database: String(row.database),
    tableOid: String(row.table_oid),
    relfilenode: row.relfilenode,
    labels: row.labels,
  };
}

/** Callable by any role by default; a server that revoked it gives null rather than failing every run. */
async function systemIdentifier(client: pg.Client): Promise<string | null> {
  try {
    const res = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_catalog.pg_control_system()');
    return res.rows[0]?.id ?? null;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return null; // insufficient_privilege
    throw err;
  }
}
