/**
 * What the extract stage says about the commit-safe horizon it read (docs/architecture.md, rule 3). Anything that
 * makes the horizon a fallback instead of exact (a role that cannot see other sessions, a hot standby,
 * a timestamp cursor whose zone is unknown) is said once per pipeline per process, with its fix; a
 * transaction that holds the checkpoint back is said when it does.
 */
import type { Horizon } from '../postgres/horizon.js';
import { ANY_ZONE_SHIFT_HOURS } from '../postgres/horizon.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import type { ReadContext } from './stage.js';

const warned = new Map<string, Set<string>>();
/** Per pipeline: the oldest prepared transaction last reported, so a new one is said and a lasting one is not repeated. */
const preparedSaid = new Map<string, string>();

function once(pipeline: string, what: string): boolean {
  const said = warned.get(pipeline) ?? new Set<string>();
  warned.set(pipeline, said);
  if (said.has(what)) return false;
  said.add(what);
  return true;
}

export function noteHorizon(ctx: ReadContext, horizon: Horizon): void {
  const { spec, log } = ctx;
  const lookback = spec.horizon.lookbackSeconds;
  if (horizon.mode === 'standby' && once(spec.name, 'standby')) {
    log.warn(
      { pipeline: spec.name, lookbackSeconds: lookback },
      "the source is a hot standby (pg_is_in_recovery() is true): its pg_stat_activity shows none of the primary's sessions, so transactions still open " +
        `on the primary cannot be detected; falling back to the last replayed commit minus horizon.lookback_seconds (${lookback} s): rows newer than that ` +
        'are re-read every run, and a transaction open longer than that can be missed. Connect to the primary for an exact horizon.',
    );
  }
  if (horizon.mode === 'lookback' && once(spec.name, 'lookback')) {
    log.warn(
      { pipeline: spec.name, role: horizon.role, lookbackSeconds: lookback },
      `role ${horizon.role} cannot see other sessions in pg_stat_activity, so transactions still open cannot be detected; ` +
        `falling back to horizon.lookback_seconds (${lookback} s): rows newer than now() - lookback are re-read every run, ` +
        `and a transaction open longer than that can still be missed. Fix: GRANT pg_read_all_stats TO ${quoteIdent(horizon.role)};`,
    );
  }
  if (horizon.mode === 'subscriber' && once(spec.name, 'subscriber')) {
    log.warn(
      { pipeline: spec.name, lookbackSeconds: lookback },
      "the source database is a logical-replication subscriber: a publisher's transaction is not seen here before it commits, and its rows carry " +
        `the publisher's now(); falling back to horizon.lookback_seconds (${lookback} s): rows newer than now() - lookback are re-read every run, ` +
        'and a publisher transaction open longer than that (replication lag included) can be missed. Sync from the publisher for an exact horizon.',
    );
  }
  if (horizon.mode === 'foreign' && once(spec.name, 'foreign')) {
    const source = qualified(spec.source.schema, spec.source.table);
    const tables = horizon.foreignTables;
    const itself = tables.length === 1 && tables[0] === source;
    log.warn(
      { pipeline: spec.name, foreignTables: tables, lookbackSeconds: lookback },
      `${itself ? `the source ${source} is a foreign table` : `the source ${source} reads the foreign table${tables.length === 1 ? '' : 's'} ${tables.join(', ')}`}: ` +
        "its rows are written on another server, whose open transactions this database's pg_stat_activity does not show; " +
        `falling back to horizon.lookback_seconds (${lookback} s): rows newer than now() - lookback are re-read every run, ` +
        'and a remote transaction open longer than that can be missed. Sync from the server that holds the table for an exact horizon.',
    );
  }
  if (horizon.mode === 'untracked' && once(spec.name, 'untracked')) {
    log.warn(
      { pipeline: spec.name, lookbackSeconds: lookback },
      "a session of this database has track_activities off (pg_stat_activity state 'disabled'), so its open transaction cannot be seen; " +
        `falling back to horizon.lookback_seconds (${lookback} s) while such a session is connected: rows newer than now() - lookback are re-read every run, ` +
        'and a transaction of it open longer than that can be missed. Fix: keep track_activities on for the roles that write the synced tables.',
    );
  }
  if (horizon.type !== 'timestamptz' && spec.source.cursorTimezone === undefined && once(spec.name, 'zone')) {
    log.warn(
      { pipeline: spec.name, cursor: spec.source.cursor },
      `cursor column ${quoteIdent(spec.source.cursor)} is ${horizon.type === 'date' ? 'a date' : 'timestamp without time zone'} and source.cursor_timezone is not set: its values are wall-clock ` +
        `times of a zone pgduck does not know, so the checkpoint is held ${ANY_ZONE_SHIFT_HOURS} h behind the commit-safe horizon (safe whatever zone ` +
        `the writers use); rows of the last ${ANY_ZONE_SHIFT_HOURS} h are re-read every run. Fix: set source.cursor_timezone to the writers' time zone ` +
        '(what SHOW TimeZone says in their sessions, e.g. UTC or America/New_York) for an exact horizon.',
    );
  }
  if (horizon.prepared && preparedSaid.get(spec.name) !== horizon.prepared.gid) {
    preparedSaid.set(spec.name, horizon.prepared.gid);
    const { count, oldest, gid } = horizon.prepared;
    log.info(
      { pipeline: spec.name, preparedTransactions: count, oldestPrepared: oldest, gid },
      `${count} prepared transaction${count === 1 ? '' : 's'} (PREPARE TRANSACTION) of this database not committed yet: pg_stat_activity does not show ` +
        `them, so the checkpoint is held at the oldest one's prepare time (${oldest}, gid ${JSON.stringify(gid)}) minus horizon.lookback_seconds (${lookback} s)`,
    );
  } else if (!horizon.prepared) preparedSaid.delete(spec.name);
  if (horizon.mode === 'activity' && horizon.oldestPid !== null && horizon.lagSeconds > 600) {
    log.warn(
      { pipeline: spec.name, oldestXactStart: horizon.oldestXactStart, pid: horizon.oldestPid },
      `an open transaction (pid ${horizon.oldestPid}) holds the commit-safe horizon ${Math.round(horizon.lagSeconds)} s behind: rows are still loaded, but the checkpoint cannot pass it`,
    );
  }
}
