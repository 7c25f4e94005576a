/**
 * What a pg error means for pgduck: SQLSTATE codes and Node socket codes sorted into kinds
 * (src/errors/pgduck-error.ts). Duck-typed on `code`, so it needs no driver import and works on
 * pg's DatabaseError as well as on a socket's Error. Returns null for anything it does not know
 * (the caller then looks further down the cause chain, and finally calls it internal).
 */
import { PgduckError, messageOf, type ErrorCode, type ErrorKind } from '../errors/pgduck-error.js';

interface Rule {
  kind: ErrorKind;
  code: ErrorCode;
  fix?: string;
  /** Says "the connection to Postgres was lost": the connection was up and went away. */
  lost?: boolean;
}

const LOST: Rule = {
  lost: true,
  kind: 'transient',
  code: 'PG_CONNECTION_LOST',
  fix: 'nothing to repair: the next run resumes from the checkpoint (if it keeps happening, look at the server log and the network)',
};

const BY_CODE: Record<string, Rule> = {
  // Class 08 (connection exception), admin_shutdown (pg_terminate_backend, fast shutdown),
  // crash_shutdown, cannot_connect_now (starting or stopping), and the socket going away.
  '08000': LOST,
  '08003': LOST,
  '08006': LOST,
  '08001': { kind: 'transient', code: 'PG_UNREACHABLE' },
  '08004': { kind: 'transient', code: 'PG_UNREACHABLE', fix: 'the server rejected the connection: look at its log' },
  '57P01': LOST,
  '57P02': LOST,
  '57P03': { ...LOST, code: 'PG_STARTING', fix: 'the server is starting up or shutting down: run again in a moment' },
  ECONNRESET: LOST,
  EPIPE: LOST,
  ETIMEDOUT: LOST,
  ECONNABORTED: LOST,
  '53300': {
    kind: 'transient',
    code: 'PG_TOO_MANY_CONNECTIONS',
    fix: 'the server has no free connection slots: lower PGDUCK_CONCURRENCY or raise max_connections',
  },
  '40001': { kind: 'transient', code: 'PG_SERIALIZATION' },
  '40P01': { kind: 'transient', code: 'PG_SERIALIZATION' },
  '57014': {
    kind: 'transient',
    code: 'PG_TIMEOUT',
    fix: 'the query was cancelled (statement_timeout or an operator): run again; if it recurs, lower batch_size',
  },
  ECONNREFUSED: { kind: 'transient', code: 'PG_UNREACHABLE', fix: 'nothing is listening there: is Postgres running, and are the host and port right?' },
  EHOSTUNREACH: { kind: 'transient', code: 'PG_UNREACHABLE' },
  ENETUNREACH: { kind: 'transient', code: 'PG_UNREACHABLE' },
  EAI_AGAIN: { kind: 'transient', code: 'PG_UNREACHABLE', fix: 'the host name could not be resolved (DNS): check the host in the connection string' },
  ENOTFOUND: { kind: 'config', code: 'HOST_UNKNOWN', fix: 'the host name does not resolve: check the host in the connection string' },
  '28P01': { kind: 'config', code: 'AUTH_FAILED', fix: 'check the password in the connection string (DATABASE_URL, POSTGRES_PASSWORD or source.connection)' },
  '28000': {
    kind: 'config',
    code: 'AUTH_FAILED',
    fix: 'the server refused this role, user or client address: check pg_hba.conf and that the role exists and can log in',
  },
  '3D000': { kind: 'config', code: 'DATABASE_MISSING', fix: 'check the database name in the connection string' },
  '42P01': { kind: 'needs-action', code: 'SOURCE_TABLE_MISSING', fix: 'create the table, grant this role access to it, or correct source.table' },
  '42703': {
    kind: 'needs-action',
    code: 'SOURCE_COLUMN_MISSING',
    fix: 'a column the pipeline reads is gone: restore it, or correct source.cursor / source.primary_key',
  },
  '42501': { kind: 'needs-action', code: 'PERMISSION_DENIED', fix: 'grant this role SELECT on the table (and USAGE on its schema)' },
  '53100': { kind: 'needs-action', code: 'DISK_FULL', fix: "the Postgres server's disk is full: free space there" },
  // invalid byte sequence for encoding "UTF8" (a SQL_ASCII database holding another encoding's bytes):
  // the server refuses to send them; said as the data's problem, not as an internal error (found by review).
  '22021': {
    kind: 'needs-action',
    code: 'SOURCE_TEXT_NOT_UTF8',
    fix: 'the source holds text that is not valid UTF-8 (the message names the bytes): correct those values, or leave the column out (source.columns.exclude)',
  },
};

// `row_security = off` (connect.ts) and a policy that applies to this role: "query would be affected by row-level security policy for table …".
const ROW_SECURITY_TEXT = /row-level security/i;
const ROW_SECURITY: Rule = {
  kind: 'needs-action',
  code: 'ROW_SECURITY',
  fix: "row level security policies apply to this role on the table, so it would read only some of its rows: sync as a role with BYPASSRLS or as the table's owner, or sync a view that says which rows are meant",
};

// What pg says when the socket closed under a query, or when a query is sent on a client whose connection already failed.
const LOST_TEXT =
  /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|server closed the connection unexpectedly|terminating connection due to/i;

/**
 * Classify one error (not its causes). `said` is how the failure reads so far (the outermost
 * message, which carries the context); the classification's message is built on it.
 */
export function classifyPostgresError(error: unknown, said: string = messageOf(error)): PgduckError | null {
  const code = (error as { code?: unknown } | null)?.code;
  const rule =
    (code === '42501' && error instanceof Error && ROW_SECURITY_TEXT.test(error.message) ? ROW_SECURITY : undefined) ??
    (typeof code === 'string' ? BY_CODE[code] : undefined) ??
    (error instanceof Error && LOST_TEXT.test(error.message) ? LOST : undefined);
  if (!rule) return null;
  const message = rule.lost ? `the connection to Postgres was lost (${said})` : said;
  return new PgduckError(message, { kind: rule.kind, code: rule.code, fix: rule.fix, cause: error });
}

/** Did a query fail because the connection to Postgres went away, as opposed to an error in the query itself? */
export function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const rule = typeof code === 'string' ? BY_CODE[code] : undefined;
  return rule ? !!rule.lost : error instanceof Error && LOST_TEXT.test(error.message);
}

/**
 * Is this Postgres saying that the relation `schema.table` does not exist (42P01, undefined_table)?
 * The server names the relation as the query wrote it, qualified or not; a message in another
 * language (lc_messages) names nothing readable, and then any 42P01 counts: the callers ask about a
 * query that names no other relation.
 */
export function isRelationMissing(error: unknown, schema: string, table: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e?.code !== '42P01') return false;
  const named = typeof e.message === 'string' ? /relation "(.+)" does not exist/.exec(e.message)?.[1] : undefined;
  return named === undefined || named === `${schema}.${table}` || named === table;
}
