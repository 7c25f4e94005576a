/**
 * What the commit-safe horizon (docs/architecture.md, rule 3; horizon.ts) needs to know about the server and
 * database a pipeline reads, beyond the role (inspect-role.ts): is it a hot standby (whose
 * pg_stat_activity shows none of the primary's sessions), and are prepared transactions pending
 * (which pg_stat_activity does not show either). The runner reads the same facts in horizon.ts.
 */
import type pg from 'pg';

export interface ServerFacts {
  /** pg_is_in_recovery(): a hot standby. The horizon falls back to the lookback window there. */
  standby: boolean;
  /** Prepared transactions of this database, pending now; null when there are none. */
  prepared: { count: number; oldest: string; gid: string; ageSeconds: number } | null;
}

const SERVER_SQL = `
SELECT pg_is_in_recovery()::text AS standby,
       (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database())::text AS prepared_count,
       (SELECT prepared::text FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared LIMIT 1) AS prepared_oldest,
       (SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared LIMIT 1) AS prepared_gid,
       (SELECT extract(epoch FROM now() - min(prepared)) FROM pg_prepared_xacts WHERE database = current_database())::text AS prepared_age`;

export async function inspectServer(client: pg.Client): Promise<ServerFacts> {
  const row = (await client.query<Record<string, string | boolean | null>>(SERVER_SQL)).rows[0];
  const count = Number(row.prepared_count ?? 0);
  return {
    standby: row.standby === 'true' || row.standby === true,
    prepared: count > 0 ? { count, oldest: String(row.prepared_oldest), gid: String(row.prepared_gid), ageSeconds: Number(row.prepared_age) } : null,
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
