/**
 * Which source a pipeline reads, as Postgres itself names it: the cluster (pg_control_system()'s
 * system_identifier, made by initdb and kept by physical copies of the cluster), the database, and
 * the table's oid (new for a re-created or restored table). Plus the table's relfilenode: a
 * rewriting ALTER TABLE moves it, so values changed without touching the cursor can be noticed.
 * Plus where the cluster is in its history: its timeline (a promoted standby or a point-in-time
 * restore starts a new one) and, on a primary, its WAL position, so a source that went back in time
 * (docs/architecture.md, rule 8, "A source that went back in time") is not taken for the one the rows came from.
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
   * What the text of its values depends on besides the rows, for every type its columns reach (array
   * elements, domains, composite fields, range subtypes, at any depth), as JSON (TypeFacts): the enum
   * labels by `pg_enum` oid, and a digest of the composite types' fields. An enum label renamed
   * (`ALTER TYPE … RENAME VALUE`), or a composite field renamed, added, dropped or retyped, changes
   * the text of every row holding it, without a rewrite or a cursor move (found by review: DuckDB kept
   * the old text for good, and a key's next version landed beside its old row). An added enum label
   * changes no row. Null when recorded before (adopted at the next run).
   */
  labels: string | null;
  /**
   * The cluster's timeline (`pg_walfile_name(pg_current_wal_lsn())` on a primary, the last restart
   * point's on a standby), as text. A physical standby promoted, or a backup restored to a point in
   * time, keeps the system_identifier, the database and every oid, and continues on a new timeline:
   * what the old one wrote after the fork (rows synced from it) is not in the source. Null when
   * recorded before, or where the role may not read it.
   */
  timeline: string | null;
  /**
   * `pg_current_wal_flush_lsn()` when the run began reading, on a primary (flushed: a crash of the
   * server never takes the cluster below it, as it may the write position; null on a standby, whose replay
   * position may trail a primary this pipeline read before): lower at the next run, the cluster was
   * put back to an older copy of itself on the same timeline (a file-level restore).
   */
  walLsn: string | null;
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
       END AS relfilenode
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

/**
 * Every type the table's columns reach (`$1`: its oid), through array elements, domains, composite
 * fields and range subtypes, at any depth; then the labels of the enums among them and a digest of
 * the composites' fields (names, types, dropped ones left out).
 */
const TYPES_SQL = `
WITH RECURSIVE reached(oid) AS (
  SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped
  UNION
  SELECT n.oid
  FROM reached r
  JOIN pg_catalog.pg_type t ON t.oid = r.oid
  CROSS JOIN LATERAL (
    SELECT t.typelem WHERE t.typelem <> 0
    UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0
    UNION ALL SELECT g.rngsubtype FROM pg_catalog.pg_range g WHERE g.rngtypid = t.oid
    UNION ALL SELECT f.atttypid FROM pg_catalog.pg_attribute f WHERE t.typrelid <> 0 AND f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped
  ) AS n(oid)
)
SELECT (SELECT json_object_agg(e.oid::int8::text, e.enumlabel ORDER BY e.oid)
        FROM pg_catalog.pg_enum e WHERE e.enumtypid IN (SELECT oid FROM reached))::text AS enums,
       (SELECT md5(string_agg(t.oid::int8::text || ':' || f.attnum || ':' || f.atttypid::int8::text || ':' || f.attname, ',' ORDER BY t.oid, f.attnum))
        FROM reached r
        JOIN pg_catalog.pg_type t ON t.oid = r.oid AND t.typtype = 'c'
        JOIN pg_catalog.pg_attribute f ON f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped) AS composites,
       (SELECT json_object_agg(a.attnum, md5(pg_catalog.pg_get_expr(d.adbin, d.adrelid)) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1::int8::oid AND a.attgenerated = 'v' AND NOT a.attisdropped)::text AS generated,
       (SELECT json_object_agg(a.attnum, a.attcollation::int8::text ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attcollation <> 0)::text AS collations`;

/** SourceIdentity.labels, parsed. */
interface TypeFacts {
  enums: Record<string, string>;
  composites: string | null;
  /**
   * The VIRTUAL generated columns' expressions (a digest each, by attnum; Postgres 18): `ALTER … SET
   * EXPRESSION` changes every row's value without a rewrite or a cursor move (found by review).
   * Undefined when recorded before (unknown, adopted). Only columns on both sides are compared: a
   * column added is the drift check's.
   */
  generated?: Record<string, string>;
  /**
   * The columns' collations (oid by attnum). `ALTER … TYPE text COLLATE …` rewrites nothing, yet
   * changes the order the keyset compares a text key in: a checkpoint inside a group of rows sharing
   * one cursor value then resumes in the new order, past keys never read (found by review). Undefined
   * when recorded before; only columns on both sides are compared (a text column added changes none).
   */
  collations?: Record<string, string>;
}

function typeFacts(text: string | null): TypeFacts | null {
  if (text === null) return null;
  const parsed = JSON.parse(text) as Partial<TypeFacts>;
  // A form without `enums` (written before it had composites): unknown, adopted.
  return parsed.enums === undefined
    ? null
    : { enums: parsed.enums, composites: parsed.composites ?? null, generated: parsed.generated, collations: parsed.collations };
}

/**
 * What changed the text of existing values between two identities' `labels`: each enum label renamed
 * (present in both under another name), and whether a composite type's fields changed. Nothing when
 * either is unknown; an added enum label changes no value.
 */
export function typeTextChanges(
  was: string | null,
  now: string | null,
): { renamed: { from: string; to: string }[]; composites: boolean; generated: boolean; collations: boolean } {
  const before = typeFacts(was);
  const after = typeFacts(now);
  if (before === null || after === null) return { renamed: [], composites: false, generated: false, collations: false };
  const renamed = Object.entries(before.enums)
    .filter(([oid, label]) => oid in after.enums && after.enums[oid] !== label)
    .map(([oid, label]) => ({ from: label, to: after.enums[oid] }));
  // Per column, for the columns on both sides (a column added or dropped is the drift check's).
  const differs = (key: 'generated' | 'collations') => {
    const was = before[key];
    const now = after[key];
    return was !== undefined && now !== undefined && Object.keys(was).some((attnum) => attnum in now && now[attnum] !== was[attnum]);
  };
  return { renamed, composites: before.composites !== after.composites, generated: differs('generated'), collations: differs('collations') };
}

/** The identity of `schema.table`, or null when it does not exist (or this role cannot see it). */
export async function readSourceIdentity(client: pg.Client, schema: string, table: string): Promise<SourceIdentity | null> {
  const res = await client.query<Record<string, string | null>>({ text: IDENTITY_SQL, values: [schema, table] });
  if (res.rows.length === 0) return null;
  const row = res.rows[0];
  const types = (
    await client.query<{ enums: string | null; composites: string | null; generated: string | null; collations: string | null }>({
      text: TYPES_SQL,
      values: [String(row.table_oid)],
    })
  ).rows[0];
  const labels: TypeFacts = {
    enums: types.enums === null ? {} : (JSON.parse(types.enums) as Record<string, string>),
    composites: types.composites,
    generated: types.generated === null ? {} : (JSON.parse(types.generated) as Record<string, string>),
    collations: types.collations === null ? {} : (JSON.parse(types.collations) as Record<string, string>),
  };
  return {
    systemId: await systemIdentifier(client),
    database: String(row.database),
    tableOid: String(row.table_oid),
    relfilenode: row.relfilenode,
    labels: JSON.stringify(labels),
    ...(await walPlace(client)),
  };
}

/**
 * Where the cluster is in its history (SourceIdentity.timeline, .walLsn). pg_walfile_name() fails
 * during recovery, so a standby reports the timeline of its last restart point and no position.
 */
async function walPlace(client: pg.Client): Promise<{ timeline: string | null; walLsn: string | null }> {
  try {
    const res = await client.query<{ timeline: string | null; lsn: string | null }>(
      `SELECT CASE WHEN pg_catalog.pg_is_in_recovery()
                   THEN (SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())::text
                   ELSE (('x' || substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int8)::text END AS timeline,
              CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE pg_catalog.pg_current_wal_flush_lsn()::text END AS lsn`,
    );
    return { timeline: res.rows[0]?.timeline ?? null, walLsn: res.rows[0]?.lsn ?? null };
  } catch (err) {
    if (unavailableHere(err)) return { timeline: null, walLsn: null };
    throw err;
  }
}

/**
 * The server refused the statement itself (the role may not call the function, a managed service
 * that does not offer it, a fork without it): the facts are unknown there, not a failure of the run.
 * A lost connection, a shutdown or a lack of resources still fails it (SQLSTATE classes 08, 57, 53).
 */
function unavailableHere(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57|53)/.test(code);
}

/** A pg_lsn's text (`16/B374D848`) as one number, to compare two positions. */
export function lsnValue(text: string): bigint | null {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : null;
}

/**
 * Whether the cluster went back in time between two identities of the same cluster: another
 * timeline, or a WAL position below the one read before (both read on a primary). Null when it did
 * not, or either side is unknown (recorded before, a standby, a role that may not read them).
 */
export function wentBack(was: Pick<SourceIdentity, 'timeline' | 'walLsn'>, now: Pick<SourceIdentity, 'timeline' | 'walLsn'>): string | null {
  if (was.timeline !== null && now.timeline !== null && was.timeline !== now.timeline) {
    return `the cluster is on another timeline (timeline ${now.timeline}, was ${was.timeline}): a standby promoted or a backup restored to a point in time, which may lack what the old timeline wrote after they parted`;
  }
  const before = was.walLsn === null ? null : lsnValue(was.walLsn);
  const after = now.walLsn === null ? null : lsnValue(now.walLsn);
  if (before !== null && after !== null && after < before) {
    return `the cluster's WAL position ${now.walLsn} is behind the ${was.walLsn} it had when the last run read it: it was put back to an older copy of itself`;
  }
  return null;
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
