/**
 * The connected role as the commit-safe horizon needs it (docs/architecture.md, rule 3): can it see the
 * transactions of other sessions in pg_stat_activity? Without superuser or pg_read_all_stats, the
 * xact_start of other roles' sessions reads NULL and the horizon silently becomes now().
 */
import type pg from 'pg';

export interface RoleFacts {
  /** current_user, exactly as the catalog spells it. */
  role: string;
  superuser: boolean;
  /** The same test readHorizon() makes (horizon.ts): superuser, or a member of pg_read_all_stats. */
  seesOtherSessions: boolean;
  /** server_version_num, e.g. 180001. */
  serverVersion: number;
}

// Keep this predicate identical to the `me` CTE of HORIZON_SQL in horizon.ts: validate must judge
// the role exactly as the runner will.
const ROLE_SQL = `
SELECT r.rolname AS role,
       r.rolsuper::text AS superuser,
       (r.rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'))::text AS sees_all,
       current_setting('server_version_num') AS version
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`;

export async function inspectRole(client: pg.Client): Promise<RoleFacts> {
  const res = await client.query<Record<string, string | boolean | null>>(ROLE_SQL);
  const row = res.rows[0];
  const yes = (v: unknown) => v === true || v === 't' || v === 'true';
  return { role: String(row.role), superuser: yes(row.superuser), seesOtherSessions: yes(row.sees_all), serverVersion: Number(row.version) };
}
