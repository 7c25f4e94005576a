/**
 * How many rows a table holds, as Postgres estimates it: pg_class.reltuples as of the last VACUUM or
 * ANALYZE (summed over the leaf partitions of a partitioned table), for a bootstrap's progress bar.
 * One catalog lookup, never a count(*): a bootstrap must not scan its table once more to say how
 * long the scan will take. Null when never analyzed (Postgres 14+ stores -1) or not found.
 */
import type { PgClient } from './connect.js';

const ESTIMATE_SQL = `
SELECT CASE WHEN c.relkind = 'p' THEN
              (SELECT CASE WHEN bool_or(l.reltuples < 0) THEN NULL ELSE sum(l.reltuples) END
               FROM pg_catalog.pg_partition_tree(c.oid) t
               JOIN pg_catalog.pg_class l ON l.oid = t.relid
               WHERE t.isleaf)
            WHEN c.reltuples >= 0 THEN c.reltuples
       END::float8::text AS reltuples
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`;

export async function estimateRows(pg: PgClient, schema: string, table: string): Promise<number | null> {
  const res = await pg.query<{ reltuples: string | null }>({ text: ESTIMATE_SQL, values: [schema, table] });
  const raw = res.rows[0]?.reltuples;
  if (raw === null || raw === undefined) return null;
  const n = Math.round(Number(raw));
  return Number.isFinite(n) && n > 0 ? n : null;
}
