/**
 * `pgduck validate --connect`: every live check of every pipeline, as findings pinned to the field
 * of the pipeline file they concern. Runs only on a configuration that passed the offline checks.
 * Read-only: it connects, reads the catalog, opens and closes each DuckDB file; nothing is created.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatConfigPath } from '../config/config-path.js';
import { parsePipelineYaml } from '../config/parse-pipeline-yaml.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import type { YamlLocator } from '../config/yaml-locator.js';
import { checkDuckDbFile } from '../duckdb/check-duckdb-file.js';
import { quoteIdent } from '../sql/identifier.js';
import { inspectPipelines } from './inspect-pipelines.js';
import { judgeSource } from './judge-source.js';
import type { LiveFinding, LiveIssue } from './live-finding.js';
import type { TrackActivitiesOff } from '../postgres/inspect-server.js';

export interface LiveCheckOptions {
  connectTimeoutMs?: number;
  /** Open each DuckDB file to see it is writable and unlocked (default true; `pgduck run` holds the files itself: false). */
  checkDuckDb?: boolean;
}

export interface LiveReport {
  findings: LiveFinding[];
  /** Redacted connection strings that were checked. */
  connections: string[];
  /** DuckDB files that were checked, as configured. */
  duckdbFiles: string[];
}

export async function runLiveChecks(resolved: readonly ResolvedPipeline[], opts: LiveCheckOptions = {}): Promise<LiveReport> {
  const specs = resolved.map((p) => p.spec);
  const locators = new Map<string, YamlLocator | null>();
  const locate = (spec: PipelineSpec) => {
    if (!locators.has(spec.file)) locators.set(spec.file, locatorFor(spec.file));
    return locators.get(spec.file) ?? null;
  };
  const findings: LiveFinding[] = [];
  const pin = (specsConcerned: readonly PipelineSpec[], issue: LiveIssue): LiveFinding => {
    const first = specsConcerned[0];
    const locator = locate(first);
    // A connection or DuckDB file the file does not name comes from the environment: the file as a whole is the place.
    // Any other field left out (source.cursor: updated_at by default) is pointed at through its parent (`source:`).
    const fromEnvironment = (issue.path[1] === 'connection' || issue.path[1] === 'duckdb_path') && !locator?.has(issue.path);
    const position = locator && !fromEnvironment ? locator.position(issue.path) : { line: 1, col: 1 };
    return {
      check: issue.check,
      severity: issue.severity,
      pipelines: specsConcerned.map((s) => s.name),
      file: first.file,
      ...position,
      path: fromEnvironment ? '' : formatConfigPath(issue.path),
      column: issue.column ?? null,
      message: issue.message,
      fix: issue.fix ?? null,
    };
  };

  const { connections, pipelines } = await inspectPipelines(resolved, { connectTimeoutMs: opts.connectTimeoutMs, probeNullCursors: true });

  for (const connection of connections) {
    if (connection.error) {
      findings.push(pin(connection.pipelines, { check: 'connect', severity: 'error', path: ['source', 'connection'], message: connection.error }));
    }
  }
  for (const p of pipelines) {
    if (p.error) findings.push(pin([p.spec], { check: 'table', severity: 'error', path: ['source', 'table'], message: p.error }));
    if (p.source) findings.push(...judgeSource(p.spec, p.source).map((issue) => pin([p.spec], issue)));
  }

  // The commit-safe horizon needs to see every session's transaction start (docs/architecture.md, rule 3).
  const withHorizon = (connection: (typeof connections)[number]) =>
    connection.pipelines.filter((spec) => {
      const cursor = pipelines.find((p) => p.spec === spec)?.source?.relation?.columns.find((c) => c.name === spec.source.cursor);
      return cursor === undefined || cursor.typname === 'timestamptz' || cursor.typname === 'timestamp';
    });
  for (const connection of connections) {
    const affected = withHorizon(connection);
    if (affected.length === 0 || !connection.server) continue;
    if (connection.server.standby) {
      findings.push(
        pin(affected, {
          check: 'standby',
          severity: 'warning',
          path: ['source', 'connection'],
          message:
            `${connection.url} is a hot standby (pg_is_in_recovery() is true): its pg_stat_activity shows none of the primary's sessions, so the ` +
            'commit-safe horizon cannot wait for transactions still open on the primary: each run falls back to the last replayed commit minus ' +
            'horizon.lookback_seconds, rows newer than that are re-read every run, and rows of a transaction open longer than that can be missed. ' +
            'Connect to the primary for an exact horizon.',
        }),
      );
    }
    const prepared = connection.server.prepared;
    if (prepared) {
      findings.push(
        pin(affected, {
          check: 'prepared',
          severity: 'warning',
          path: ['source', 'connection'],
          message:
            `${prepared.count} prepared transaction${prepared.count === 1 ? '' : 's'} (PREPARE TRANSACTION) pending in the database of ${connection.url}, ` +
            `the oldest (gid ${JSON.stringify(prepared.gid)}) for ${Math.round(prepared.ageSeconds)} s: pg_stat_activity does not show them, so pgduck holds ` +
            "the checkpoint at the oldest one's prepare time minus horizon.lookback_seconds until it is committed or rolled back",
        }),
      );
    }
  }
  for (const connection of connections) {
    const affected = withHorizon(connection);
    const server = connection.server;
    if (affected.length === 0 || !server || server.standby) continue;
    if (server.subscriptions > 0) {
      findings.push(
        pin(affected, {
          check: 'subscriber',
          severity: 'warning',
          path: ['source', 'connection'],
          message:
            `the database of ${connection.url} is a logical-replication subscriber (${server.subscriptions} subscription${server.subscriptions === 1 ? '' : 's'} in ` +
            "pg_subscription): a publisher's transaction is not seen here before it commits, and its rows carry the publisher's now(), so the " +
            'commit-safe horizon cannot wait for it: each run falls back to re-reading horizon.lookback_seconds, and rows of a publisher transaction ' +
            'open longer than that (replication lag included) can be missed. Sync from the publisher for an exact horizon.',
        }),
      );
    }
    if (server.trackActivitiesOff.length > 0 || server.untrackedSessions > 0) {
      const where = server.trackActivitiesOff.map(describeTrackActivitiesOff);
      const sessions = server.untrackedSessions;
      findings.push(
        pin(affected, {
          check: 'untracked',
          severity: 'warning',
          path: ['source', 'connection'],
          message:
            [
              ...(where.length > 0 ? [`track_activities is off for ${where.join(', ')}`] : []),
              ...(sessions > 0 ? [`${sessions} session${sessions === 1 ? '' : 's'} of this database run${sessions === 1 ? 's' : ''} with it off now`] : []),
            ].join(', and ') +
            ` (${connection.url}): such a session's open transaction is not in pg_stat_activity, so while one is connected each run falls back to ` +
            're-reading horizon.lookback_seconds, and rows of a transaction of it open longer than that can be missed. Keep track_activities on ' +
            'for the roles that write the synced tables. As a superuser:',
          fix: trackActivitiesFix(server.trackActivitiesOff, sessions, server.database),
        }),
      );
    }
  }
  for (const connection of connections) {
    // On a standby the role's view of pg_stat_activity does not matter: the primary's sessions are never there.
    if (!connection.role || connection.role.seesOtherSessions || connection.server?.standby) continue;
    const affected = withHorizon(connection);
    if (affected.length === 0) continue;
    const role = quoteIdent(connection.role.role);
    findings.push(
      pin(affected, {
        check: 'stats',
        severity: 'error',
        path: ['source', 'connection'],
        message:
          `role ${role} on ${connection.url} cannot see other sessions in pg_stat_activity (it is neither a superuser nor a member of pg_read_all_stats), ` +
          'so the commit-safe horizon cannot wait for transactions still open: each run falls back to re-reading a lookback window ' +
          '(horizon.lookback_seconds), and rows of a transaction open longer than that can be missed. As a superuser, run:',
        fix: `GRANT pg_read_all_stats TO ${role};`,
      }),
    );
  }

  // One writer per DuckDB file at a time: it must be writable and not held by another process.
  const files = new Map<string, { configured: string; specs: PipelineSpec[] }>();
  for (const { spec, duckdbPath: configured } of resolved) {
    const key = resolve(configured);
    const entry = files.get(key) ?? { configured, specs: [] };
    entry.specs.push(spec);
    files.set(key, entry);
  }
  for (const { configured, specs: users } of opts.checkDuckDb === false ? [] : files.values()) {
    const problem = await checkDuckDbFile(configured);
    if (!problem) continue;
    findings.push(
      pin(users, {
        check: 'duckdb',
        severity: 'error',
        path: ['target', 'duckdb_path'],
        message: `DuckDB file ${configured} ${problem.message}`,
        fix: problem.fix,
      }),
    );
  }

  const order = new Map(specs.map((s, i) => [s.file, i]));
  findings.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.col - b.col);
  return { findings, connections: connections.map((c) => c.url), duckdbFiles: [...files.values()].map((f) => f.configured) };
}

function describeTrackActivitiesOff(off: TrackActivitiesOff): string {
  if (off.scope === 'server') return 'the whole server (postgresql.conf, ALTER SYSTEM or the command line)';
  if (off.role === null) return off.inDatabase ? 'every role in this database (ALTER DATABASE … SET)' : 'every role (ALTER ROLE ALL SET)';
  return `role ${quoteIdent(off.role)}${off.inDatabase ? ' in this database' : ''} (ALTER ROLE … SET)`;
}

/** The SQL that turns it back on where it was set off; sessions already connected keep their setting until they reconnect. */
function trackActivitiesFix(offs: readonly TrackActivitiesOff[], sessions: number, database: string): string {
  const db = quoteIdent(database);
  const lines = offs.map((off) => {
    if (off.scope === 'server') return 'ALTER SYSTEM SET track_activities = on; SELECT pg_reload_conf();';
    if (off.role === null && off.inDatabase) return `ALTER DATABASE ${db} RESET track_activities;`;
    return `ALTER ROLE ${off.role === null ? 'ALL' : quoteIdent(off.role)}${off.inDatabase ? ` IN DATABASE ${db}` : ''} RESET track_activities;`;
  });
  if (sessions > 0)
    lines.push("-- sessions connected now keep their setting: SELECT pid, usename, application_name FROM pg_stat_activity WHERE state = 'disabled';");
  return [...new Set(lines)].join('\n');
}

function locatorFor(file: string): YamlLocator | null {
  try {
    return parsePipelineYaml(readFileSync(file, 'utf8')).locator;
  } catch {
    return null;
  }
}
