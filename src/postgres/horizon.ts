/**
 * The commit-safe horizon (DESIGN.md rule 3). `updated_at = now()` is a transaction's *start* time,
 * so a transaction still open can later commit rows older than anything read so far. The checkpoint
 * never passes least(now(), oldest open transaction start) - margin.
 *
 * Read it *before* the data query: the other order can miss a transaction that commits in between.
 * Every open transaction counts, not only those that have written: now() is fixed when one starts.
 */
import type { PgClient } from './connect.js';

export interface Horizon {
  /** Exact timestamptz text: rows with cursor <= this are safe to checkpoint. */
  value: string;
  /** 'activity': from pg_stat_activity; 'lookback': the role cannot see other sessions. */
  mode: 'activity' | 'lookback';
  /** Start of the oldest other open transaction (that this role can see), when there is one. */
  oldestXactStart: string | null;
  oldestPid: number | null;
  /** How far the horizon lags now(), in seconds. */
  lagSeconds: number;
  /** The role the pipeline connects as (for the warning that names the fix). */
  role: string;
}

/*
 * - Only transactions of this database count: no other database's transaction can write these tables;
 *   nor can autovacuum or a WAL sender's, so a VACUUM of a big table running for hours does not hold
 *   the checkpoint back.
 * - pg_stat_activity shows another role's xact_start only to members of pg_read_all_stats (with its
 *   privileges, hence USAGE, not MEMBER) and to superusers (who have every privilege). Without it the
 *   other sessions read NULL and would silently look idle, so the horizon falls back to now() - lookback,
 *   still held back by the sessions the role can see (its own).
 * - least() skips NULLs: no open transaction → now() - margin.
 */
const HORIZON_SQL = `
WITH me AS (
  SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS sees_all
), oldest AS (
  SELECT pid, xact_start FROM pg_stat_activity
  WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
    AND datid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND backend_type NOT IN ('autovacuum worker', 'autovacuum launcher', 'walsender')
  ORDER BY xact_start LIMIT 1
), h AS (
  SELECT me.sees_all, o.pid, o.xact_start,
         least(now() - CASE WHEN me.sees_all THEN $1::interval ELSE greatest($1::interval, $2::interval) END,
               o.xact_start - $1::interval) AS horizon
  FROM me LEFT JOIN oldest o ON true
)
SELECT sees_all, xact_start::text AS oldest_start, pid::text AS oldest_pid, horizon::text AS horizon,
       extract(epoch FROM now() - horizon)::text AS lag, current_user::text AS role
FROM h
`;

export async function readHorizon(client: PgClient, opts: { marginMs: number; lookbackSeconds: number }): Promise<Horizon> {
  const res = await client.query({
    text: HORIZON_SQL,
    values: [`${opts.marginMs} milliseconds`, `${opts.lookbackSeconds} seconds`],
  });
  const row = res.rows[0] as { sees_all: string | boolean; oldest_start: string | null; oldest_pid: string | null; horizon: string; lag: string; role: string };
  const seesAll = row.sees_all === 't' || row.sees_all === true;
  return {
    value: row.horizon,
    mode: seesAll ? 'activity' : 'lookback',
    oldestXactStart: row.oldest_start,
    oldestPid: row.oldest_pid ? Number(row.oldest_pid) : null,
    lagSeconds: Number(row.lag),
    role: row.role,
  };
}
