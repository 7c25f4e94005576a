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
  /** Start of the oldest other open transaction, when one holds the horizon back. */
  oldestXactStart: string | null;
  oldestPid: number | null;
  /** How far the horizon lags now(), in seconds. */
  lagSeconds: number;
}

const HORIZON_SQL = `
WITH me AS (
  SELECT r.rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS sees_all
  FROM pg_roles r WHERE r.rolname = current_user
), oldest AS (
  SELECT pid, xact_start FROM pg_stat_activity
  WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
  ORDER BY xact_start LIMIT 1
)
SELECT
  (SELECT sees_all FROM me) AS sees_all,
  (SELECT xact_start FROM oldest)::text AS oldest_start,
  (SELECT pid FROM oldest)::text AS oldest_pid,
  (CASE WHEN (SELECT sees_all FROM me)
        THEN least(now(), coalesce((SELECT xact_start FROM oldest), now())) - $1::interval
        ELSE now() - $2::interval END)::text AS horizon,
  extract(epoch FROM now() - (CASE WHEN (SELECT sees_all FROM me)
        THEN least(now(), coalesce((SELECT xact_start FROM oldest), now())) - $1::interval
        ELSE now() - $2::interval END))::text AS lag
`;

export async function readHorizon(client: PgClient, opts: { marginMs: number; lookbackSeconds: number }): Promise<Horizon> {
  const res = await client.query({
    text: HORIZON_SQL,
    values: [`${opts.marginMs} milliseconds`, `${opts.lookbackSeconds} seconds`],
  });
  const row = res.rows[0] as { sees_all: string; oldest_start: string | null; oldest_pid: string | null; horizon: string; lag: string };
  const seesAll = row.sees_all === 't';
  return {
    value: row.horizon,
    mode: seesAll ? 'activity' : 'lookback',
    oldestXactStart: seesAll ? row.oldest_start : null,
    oldestPid: seesAll && row.oldest_pid ? Number(row.oldest_pid) : null,
    lagSeconds: Number(row.lag),
  };
}
