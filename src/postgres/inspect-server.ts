/**
 * What the commit-safe horizon (docs/architecture.md, rule 3; horizon.ts) needs to know about the server and
 * database a pipeline reads, beyond the role (inspect-role.ts): is it a hot standby (whose
 * pg_stat_activity shows none of the primary's sessions), are prepared transactions pending
 * (which pg_stat_activity does not show either), is the database a logical-replication subscriber,
 * and can sessions run with track_activities off. The runner reads the same facts in horizon.ts.
 */
import type pg from 'pg';
import { SUBSCRIPTIONS_SQL, UNTRACKED_SESSIONS_SQL } from './horizon.js';

export interface ServerFacts {
  /** current_database(): the database the pipelines read. */
  database: string;
  /** pg_is_in_recovery(): a hot standby. The horizon falls back to the lookback window there. */
  standby: boolean;
  /** Prepared transactions of this database, pending now; null when there are none. */
  prepared: { count: number; oldest: string; gid: string; ageSeconds: number } | null;
  /** Subscriptions of this database (logical replication): the horizon falls back to the lookback window. */
  subscriptions: number;
  /** Other client sessions of this database connected now with track_activities off. */
  untrackedSessions: number;
  /**
   * Where track_activities is off for sessions of this database: the server's setting
   * (postgresql.conf, ALTER SYSTEM or the command line), and each ALTER ROLE / ALTER DATABASE … SET
   * of pg_db_role_setting that applies here (role null: every role; inDatabase: that database only).
   * Empty when it is on everywhere this can see.
   */
  trackActivitiesOff: TrackActivitiesOff[];
}

export type TrackActivitiesOff = { scope: 'server' } | { scope: 'setting'; role: string | null; inDatabase: boolean };

const SERVER_SQL = `
SELECT pg_is_in_recovery()::text AS standby, current_database() AS database,
       (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database())::text AS prepared_count,
       (SELECT prepared::text FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared LIMIT 1) AS prepared_oldest,
       (SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared LIMIT 1) AS prepared_gid,
       (SELECT extract(epoch FROM now() - min(prepared)) FROM pg_prepared_xacts WHERE database = current_database())::text AS prepared_age,
       (SELECT count(*) FROM (${SUBSCRIPTIONS_SQL}) s)::text AS subscriptions,
       (SELECT count(*) FROM (${UNTRACKED_SESSIONS_SQL}) u)::text AS untracked_sessions,
       (SELECT setting = 'off' AND source NOT IN ('database', 'user', 'database user', 'session')
          FROM pg_settings WHERE name = 'track_activities') AS server_untracked,
       (SELECT coalesce(json_agg(json_build_object('role', r.rolname, 'inDatabase', s.setdatabase <> 0) ORDER BY r.rolname NULLS FIRST), '[]')
          FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
         WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
           AND EXISTS (SELECT 1 FROM unnest(s.setconfig) c
                        WHERE lower(split_part(c, '=', 1)) = 'track_activities'
                          AND lower(trim(split_part(c, '=', 2))) IN ('off', 'false', 'no', '0', 'of', 'f', 'n'))) AS settings_untracked`;

export async function inspectServer(client: pg.Client): Promise<ServerFacts> {
  const row = (await client.query<Record<string, unknown>>(SERVER_SQL)).rows[0];
  const count = Number(row.prepared_count ?? 0);
  // pgduck's connections read every value as text (connect.ts), json included.
  const settings = JSON.parse(String(row.settings_untracked ?? '[]')) as { role: string | null; inDatabase: boolean }[];
  return {
    database: String(row.database),
    standby: row.standby === 'true' || row.standby === true,
    prepared: count > 0 ? { count, oldest: String(row.prepared_oldest), gid: String(row.prepared_gid), ageSeconds: Number(row.prepared_age) } : null,
    subscriptions: Number(row.subscriptions ?? 0),
    untrackedSessions: Number(row.untracked_sessions ?? 0),
    trackActivitiesOff: [
      ...(row.server_untracked === true || row.server_untracked === 't' ? [{ scope: 'server' as const }] : []),
      ...settings.map((x) => ({ scope: 'setting' as const, role: x.role, inDatabase: x.inDatabase })),
    ],
  };
}

/**
 * Whether Postgres knows a time-zone name (its own tz database decides what `AT TIME ZONE` accepts,
 * which may differ from Node's). Runs outside any transaction, so a refusal leaves the session usable.
 */
export async function knowsTimeZone(client: pg.Client, zone: string): Promise<boolean> {
  try {
    await client.query({ text: 'SELECT now() AT TIME ZONE $1::text', values: [zone] });
    return true;
  } catch (err) {
    // 22023 invalid_parameter_value: `time zone "…" not recognized`. Anything else is not about the zone.
    if ((err as { code?: string }).code === '22023') return false;
    throw err;
  }
}
