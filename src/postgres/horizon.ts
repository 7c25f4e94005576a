/**
 * The commit-safe horizon (docs/architecture.md, rule 3). `updated_at = now()` is a transaction's *start* time,
 * so a transaction still open can later commit rows older than anything read so far. The checkpoint
 * never passes least(now(), oldest open transaction start) - margin.
 *
 * Read it *before* the data query: the other order can miss a transaction that commits in between.
 * Every open transaction counts, not only those that have written: now() is fixed when one starts.
 */
import type { PgClient } from './connect.js';

/**
 * How the horizon is compared with the cursor column: a `timestamptz` cursor is an instant; a
 * `timestamp` cursor holds wall-clock times of the writers' zone (`zone`, source.cursor_timezone),
 * or of a zone nobody told pgduck (`zone: null`); a `date` cursor holds the writers' wall-clock day
 * (`current_date`), one value all day long: a day is safe only once it is over at the horizon.
 */
export type HorizonCursor = { type: 'timestamptz' } | { type: 'timestamp' | 'date'; zone: string | null };

export interface Horizon {
  /**
   * Exact text in the cursor's own type (`type`): rows with cursor <= this are safe to checkpoint.
   * For a timestamptz cursor the instant itself; for a timestamp cursor the instant as wall time of
   * the writers' zone, or, when the zone is unknown, 14 h below the instant as UTC wall time; for a
   * date cursor the day before that wall time's day (a row dated that day may still be written).
   */
  value: string;
  type: HorizonCursor['type'];
  /** The horizon as an instant (timestamptz text), before any conversion to wall-clock time. */
  instant: string;
  /**
   * 'activity': from pg_stat_activity. 'lookback': the role cannot see other sessions.
   * 'standby': the server is a hot standby, whose pg_stat_activity shows none of the primary's
   * sessions; the horizon is the last replayed commit minus the lookback window.
   * 'subscriber': the database is a logical-replication subscriber: a publisher's transaction is not
   * seen before it commits here. 'foreign': the source is a foreign table, or a view that reads one:
   * its rows are written on another server, whose open transactions this pg_stat_activity does not
   * show. 'untracked': a session of this database has track_activities off, so its transaction start
   * is not shown. All three fall back to now() minus the lookback window.
   */
  mode: 'activity' | 'lookback' | 'standby' | 'subscriber' | 'foreign' | 'untracked';
  /** The foreign tables the source reads (itself, or through views and partitions), qualified and quoted; empty for most sources. */
  foreignTables: string[];
  /** Start of the oldest other open transaction (that this role can see), when there is one. */
  oldestXactStart: string | null;
  oldestPid: number | null;
  /** Prepared (two-phase) transactions of this database, which pg_stat_activity does not show. */
  prepared: { count: number; oldest: string; gid: string } | null;
  /** How far the horizon instant lags now(), in seconds (the wall-clock shift not included). */
  lagSeconds: number;
  /** The role the pipeline connects as (for the warning that names the fix). */
  role: string;
}

/**
 * No zone is further from UTC than 14 h (Pacific/Kiritimati is +14, the most westerly is -12): a
 * timestamp written in any zone, read as UTC, is at most this far from its instant.
 */
export const ANY_ZONE_SHIFT_HOURS = 14;
/**
 * A zone's clock goes back at most this far at once (1 h for daylight saving, 2 h at
 * Antarctica/Troll): the horizon looks this far ahead so a repeated hour is not checkpointed early.
 */
const FALL_BACK_HOURS = 3;

/*
 * - Only transactions of this database count: no other database's transaction can write these tables;
 *   nor can autovacuum or a WAL sender's, so a VACUUM of a big table running for hours does not hold
 *   the checkpoint back.
 * - pg_stat_activity shows another role's xact_start only to members of pg_read_all_stats (with its
 *   privileges, hence USAGE, not MEMBER) and to superusers (who have every privilege). Without it the
 *   other sessions read NULL and would silently look idle, so the horizon falls back to now() - lookback,
 *   still held back by the sessions the role can see (its own).
 * - On a hot standby pg_stat_activity lists the standby's own (read-only) sessions, never the
 *   primary's. What the standby can see is what it has replayed: a transaction not replayed yet commits
 *   after the last replayed commit, so (if it ran no longer than the lookback window) it started after
 *   pg_last_xact_replay_timestamp() - lookback. That, not now(), also covers replication lag.
 * - A logical-replication subscriber (a subscription in this database) receives a publisher's rows
 *   only when the publisher's transaction commits, with the publisher's now() as cursor: nothing here
 *   shows it open before. A foreign table (postgres_fdw…) is written on another server: its writers'
 *   transactions are in that server's pg_stat_activity, never this one's (found by review: a remote
 *   transaction's late commit was never read); so is a view that reads one, and a partitioned table
 *   with a foreign partition (sourceReachSql). A session with track_activities off shows state
 *   'disabled' and no xact_start. Each way the horizon falls back to now() - lookback, as without
 *   pg_read_all_stats.
 * - A prepared transaction (PREPARE TRANSACTION) has left its session: pg_stat_activity no longer
 *   shows it, and pg_prepared_xacts knows only when it was prepared, not when it started. Hold the
 *   horizon at prepared - lookback, on the same assumption as the lookback window.
 * - least() skips NULLs: no open transaction → now() - margin.
 * - A timestamp cursor compares with wall-clock time: the instant AT TIME ZONE the writers' zone.
 *   Where that zone's clock goes back (the autumn change), the wall time of a later instant can be
 *   below that of the horizon: take the least of now and FALL_BACK_HOURS ahead. With no zone given,
 *   the UTC wall time minus ANY_ZONE_SHIFT_HOURS is below the wall time of the horizon in every zone.
 */
/**
 * SQL for the `timestamp` a timestamp cursor is compared with: the horizon `instant` (a timestamptz
 * expression) as wall-clock time of `zone` (a text expression; NULL: unknown, any zone). Never above
 * the wall-clock time of any later instant in that zone (any zone), so a row written after the
 * horizon never compares as safe.
 */
export function wallClockBoundSql(instant: string, zone: string): string {
  return (
    `CASE WHEN ${zone} IS NULL THEN (${instant} AT TIME ZONE 'UTC') - interval '${ANY_ZONE_SHIFT_HOURS} hours' ` +
    `ELSE least(${instant} AT TIME ZONE ${zone}, ((${instant} + interval '${FALL_BACK_HOURS} hours') AT TIME ZONE ${zone}) - interval '${FALL_BACK_HOURS} hours') END`
  );
}

/** A subscription of this database: its rows arrive when the publisher's transaction commits. `validate --connect` reads the same. */
export const SUBSCRIPTIONS_SQL = `SELECT 1 FROM pg_catalog.pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** Other client sessions of this database with track_activities off: state 'disabled', no xact_start. `validate --connect` reads the same. */
export const UNTRACKED_SESSIONS_SQL = `SELECT pid FROM pg_stat_activity
                 WHERE state = 'disabled' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                   AND datid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * The relations a read of the source `schema`.`table` (SQL expressions, e.g. `$1`, `$2`) reads, itself
 * included, as (oid, relkind, name: schema.table, each part quoted as quoteIdent does): through a view's rule (pg_rewrite → pg_depend), recursively
 * through views, and a partitioned table's partitions (pg_inherits). Not through a materialized view
 * (its rows are read at its refresh) nor into functions a view calls (not in pg_depend).
 * `validate --connect` (inspect-source.ts) reads the same.
 */
export function sourceReachSql(schema: string, table: string): string {
  return `WITH RECURSIVE reach (oid, relkind) AS (
  SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ${schema} AND c.relname = ${table}
  UNION
  SELECT c.oid, c.relkind FROM reach r
  CROSS JOIN LATERAL (
    SELECT d.refobjid AS oid FROM pg_catalog.pg_rewrite w
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
    WHERE r.relkind = 'v' AND w.ev_class = r.oid
    UNION ALL
    SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE r.relkind = 'p' AND i.inhparent = r.oid
  ) e
  JOIN pg_catalog.pg_class c ON c.oid = e.oid
)
SELECT r.oid, r.relkind::text AS relkind,
       '"' || replace(n.nspname, '"', '""') || '"."' || replace(c.relname, '"', '""') || '"' AS name
FROM reach r JOIN pg_catalog.pg_class c ON c.oid = r.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`;
}

const HORIZON_SQL = `
WITH me AS (
  SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS sees_all, pg_is_in_recovery() AS standby,
         EXISTS (${SUBSCRIPTIONS_SQL}) AS subscriber,
         EXISTS (${UNTRACKED_SESSIONS_SQL}) AS untracked,
         (SELECT json_agg(f.name ORDER BY f.name)::text FROM (${sourceReachSql('$5::text', '$6::text')}) f WHERE f.relkind = 'f') AS foreign_tables
), oldest AS (
  SELECT pid, xact_start FROM pg_stat_activity
  WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
    AND datid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND backend_type NOT IN ('autovacuum worker', 'autovacuum launcher', 'walsender')
    AND NOT pg_is_in_recovery()
  ORDER BY xact_start LIMIT 1
), prepared AS (
  SELECT count(*) AS n, min(prepared) AS first, (array_agg(gid ORDER BY prepared))[1] AS gid
  FROM pg_prepared_xacts WHERE database = current_database()
), h AS (
  SELECT me.sees_all, me.standby, me.subscriber, me.untracked, me.foreign_tables, o.pid, o.xact_start, p.n, p.first, p.gid,
         least(CASE WHEN me.standby
                    THEN least(now(), coalesce(pg_last_xact_replay_timestamp(), now())) - greatest($1::interval, $2::interval)
                    ELSE now() - CASE WHEN me.sees_all AND NOT me.subscriber AND NOT me.untracked AND me.foreign_tables IS NULL THEN $1::interval ELSE greatest($1::interval, $2::interval) END END,
               o.xact_start - $1::interval,
               p.first - greatest($1::interval, $2::interval)) AS horizon
  FROM me CROSS JOIN prepared p LEFT JOIN oldest o ON true
)
SELECT sees_all, standby, subscriber, untracked, foreign_tables, xact_start::text AS oldest_start, pid::text AS oldest_pid,
       n::text AS prepared_count, first::text AS prepared_first, gid AS prepared_gid,
       horizon::text AS instant,
       CASE WHEN $3::text = 'timestamptz' THEN horizon::text
            WHEN $3::text = 'date' THEN ((${wallClockBoundSql('horizon', '$4::text')})::date - 1)::text
            ELSE (${wallClockBoundSql('horizon', '$4::text')})::text END AS value,
       extract(epoch FROM now() - horizon)::text AS lag, current_user::text AS role
FROM h
`;

export async function readHorizon(
  client: PgClient,
  opts: { marginMs: number; lookbackSeconds: number; cursor: HorizonCursor; source: { schema: string; table: string } },
): Promise<Horizon> {
  const res = await client.query({
    // Named: prepared once per connection (read before every batch), so a later batch pays the execution alone.
    name: 'pgduck_horizon',
    text: HORIZON_SQL,
    values: [
      `${opts.marginMs} milliseconds`,
      `${opts.lookbackSeconds} seconds`,
      opts.cursor.type,
      opts.cursor.type === 'timestamptz' ? null : opts.cursor.zone,
      opts.source.schema,
      opts.source.table,
    ],
  });
  const row = res.rows[0] as Record<string, string | boolean | null>;
  const yes = (v: unknown) => v === 't' || v === true;
  const preparedCount = Number(row.prepared_count ?? 0);
  return {
    value: row.value as string,
    type: opts.cursor.type,
    instant: row.instant as string,
    mode: yes(row.standby)
      ? 'standby'
      : yes(row.subscriber)
        ? 'subscriber'
        : row.foreign_tables
          ? 'foreign'
          : !yes(row.sees_all)
            ? 'lookback'
            : yes(row.untracked)
              ? 'untracked'
              : 'activity',
    foreignTables: row.foreign_tables ? (JSON.parse(String(row.foreign_tables)) as string[]) : [],
    oldestXactStart: row.oldest_start as string | null,
    oldestPid: row.oldest_pid ? Number(row.oldest_pid) : null,
    prepared: preparedCount > 0 ? { count: preparedCount, oldest: row.prepared_first as string, gid: row.prepared_gid as string } : null,
    lagSeconds: Number(row.lag),
    role: row.role as string,
  };
}
