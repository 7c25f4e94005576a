/**
 * The one place that opens Postgres connections. Every session is pinned to settings that make the
 * wire text exact and parseable downstream: UTC timestamps, ISO dates, hex bytea, shortest-exact floats.
 */
import type pg from 'pg';
import { PgduckError } from '../errors/pgduck-error.js';
import { classifyPostgresError, isConnectionLost } from './classify-postgres-error.js';
import { redactUrl } from '../sql/redact.js';
import { explainConnectError } from './explain-connect-error.js';

/**
 * Session GUCs sent in the startup packet (no extra round trip).
 * IntervalStyle=iso_8601: DuckDB parses no Postgres interval text, so type-map.ts takes the ISO form apart exactly.
 */
export const SESSION_GUCS: Record<string, string> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'iso_8601', // DuckDB parses no Postgres interval text; type-map.ts takes P1Y2M-3DT4H5M6.5S apart exactly
  bytea_output: 'hex',
  extra_float_digits: '1',
  // A table whose row level security policies apply to this role fails the query instead of
  // returning only the rows a policy shows (as pg_dump does): a subset would pass for the table.
  row_security: 'off',
  application_name: 'pgduck',
};

// Identity parsers: every value arrives as the server's text. ~2.5x faster than pg's default parsing
// (measured: docs/architecture.md#facts-postgres) and exact: no Date (milliseconds), no float for int8/numeric.
const rawTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export interface ConnectOptions {
  /** application_name suffix, visible in pg_stat_activity. */
  label?: string;
  statementTimeoutMs?: number;
  /** Give up connecting after this long (default: pg's, which waits for the OS TCP timeout). */
  connectTimeoutMs?: number;
}

export async function connectPostgres(url: string, opts: ConnectOptions = {}): Promise<pg.Client> {
  const gucs: Record<string, string> = { ...SESSION_GUCS, application_name: opts.label ? `pgduck:${opts.label}` : 'pgduck' };
  if (opts.statementTimeoutMs) gucs.statement_timeout = String(opts.statementTimeoutMs);
  const options = Object.entries(gucs)
    .map(([k, v]) => `-c ${k}=${v.replace(/([\\ ])/g, '\\$1')}`)
    .join(' ');
  // TCP keepalive: a peer that vanished without a reset (a dropped network, a NAT that forgot the
  // connection) is noticed and fails the query, instead of a read that waits forever.
  // pg (~40 ms of CPU to load: docs/architecture.md#facts-cli-startup) is imported at the first connection: `status` without --connect,
  // `plan` and offline `validate` load this module's callers but never connect.
  const { default: driver } = await import('pg');
  // A connection string's own `options` (`?options=-c search_path=app`, a provider's `endpoint=…`)
  // would replace these whole: pg lays the parsed URL over the client's settings (found by review:
  // every session setting dropped, floats read with the database's extra_float_digits = 0 rounded,
  // the run ok). Its options go first, these after them, so these win where both set one.
  const own = urlOptions(url);
  let client: pg.Client;
  try {
    client = new driver.Client({
      connectionString: own ? own.url : url,
      types: rawTypes,
      options: own ? `${own.options} ${options}` : options,
      connectionTimeoutMillis: opts.connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 30_000,
    });
  } catch (err) {
    // A malformed connection string (pg parses it here): say which, without echoing it.
    throw new PgduckError(`cannot use the Postgres connection string ${redactUrl(url)}: ${(err as Error).message}`, {
      kind: 'config',
      code: 'CONNECTION_STRING_INVALID',
      fix: 'write it as postgres://user:password@host:port/database (percent-encode special characters in the password)',
      cause: err,
    });
  }
  // A connection dropped while the client is idle (server restart, pg_terminate_backend, network) is
  // emitted as 'error' on the client; unheard, that event would end the whole process, every other
  // pipeline with it. Listened to before connecting: the next query on this client then fails with
  // its own error, which the runner reports for this pipeline only.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw classifyConnectError(err, explainConnectError(err, url));
  }
  return client;
}

export type PgClient = pg.Client;

/**
 * End a session: never throws, never waits more than 5 s (a connection already lost must not keep
 * a run waiting). With a query still active, pg's end() destroys the socket, which ends the query
 * on the server too.
 */
export async function endQuietly(client: Pick<pg.Client, 'end'>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 5_000);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/**
 * A failed connect: a refused password or an unknown database is configuration, a server that is
 * down or unreachable is transient (and so is anything unrecognised while connecting: a timeout, a
 * reset). The message is the redacted explanation.
 */
function classifyConnectError(err: unknown, message: string): PgduckError {
  const root = (err as { cause?: unknown }).cause ?? err;
  const classified = classifyPostgresError(root) ?? classifyPostgresError(err);
  if (classified && classified.kind === 'config') return new PgduckError(message, { kind: 'config', code: classified.code, fix: classified.fix, cause: err });
  const code = classified && !isConnectionLost(root) ? classified.code : 'PG_UNREACHABLE';
  return new PgduckError(message, { kind: 'transient', code, fix: classified?.fix, cause: err });
}

/** The `options` parameter of a postgres:// URL and the URL without it; null when it has none (or is no URL). */
export function urlOptions(url: string): { url: string; options: string } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const options = u.searchParams.get('options');
  if (options === null) return null;
  u.searchParams.delete('options');
  return { url: u.toString(), options };
}
