/**
 * The one error type pgduck raises at a user: every failure has a kind (what a person or a
 * scheduler should do about it), a stable code (what happened, for scripts and `pgduck status`),
 * and a fix (what to run or change). Driver errors are classified where the driver is imported
 * (src/postgres/classify-postgres-error.ts, src/duckdb/classify-duckdb-error.ts,
 * src/state/classify-sqlite-error.ts) and kept as the cause: wrap, don't stringify.
 *
 * Contract of the kinds:
 *
 *   transient     The outside world hiccuped (a dropped connection, a server restarting, a DuckDB
 *                 file or the state store locked by another process for a moment, a serialization
 *                 failure). Nothing is wrong with the data or the configuration: running again,
 *                 unchanged, is expected to succeed.
 *   needs-action  Running again will fail the same way until someone acts on the data or the
 *                 environment: the source table is gone, an incompatible drift, a full disk, a
 *                 NULL cursor. `fix` says what to run or change (e.g. `pgduck reset x --drop-target`).
 *   config        A pipeline file, flag or environment variable is wrong (a refused password, an
 *                 unknown host, an invalid YAML): fix the configuration, then run again.
 *   usage         The command line itself is wrong (an unknown flag, a bad number, an unknown
 *                 pipeline name). Nothing was started.
 *   internal      A bug or an unforeseen failure: an assertion that should never fail, or an error
 *                 no classifier recognised. Report it.
 *
 * What the runner does with it: any kind stops this pipeline's run (the others go on), the
 * checkpoint is not advanced past the last committed batch, and the kind and code are recorded for
 * `pgduck status`. The exit code of a command derives from the kind (src/errors/exit-codes.ts).
 * The service (`pgduck run`) retries `transient` (and `internal`) failures with backoff and blocks a
 * pipeline on the others until its file or state changes (src/runner/retry-policy.ts).
 */
export type ErrorKind = 'transient' | 'needs-action' | 'config' | 'usage' | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = ['transient', 'needs-action', 'config', 'usage', 'internal'];

/**
 * Stable codes: scripts and dashboards may match on them, so a code is never renamed, only added.
 * Upper snake case, named after what happened (not after the driver's own code).
 */
export type ErrorCode =
  // transient
  | 'PG_CONNECTION_LOST'
  | 'PG_UNREACHABLE'
  | 'PG_STARTING'
  | 'PG_TOO_MANY_CONNECTIONS'
  | 'PG_SERIALIZATION'
  | 'PG_TIMEOUT'
  | 'DUCKDB_LOCKED'
  | 'STATE_LOCKED'
  | 'CHECKPOINT_RESET_DURING_RUN'
  | 'DRIFT_DURING_READ'
  | 'RUNNER_LOCKED'
  | 'HISTORY_BUSY'
  | 'RECONCILE_STOPPED'
  | 'TARGET_LOST'
  | 'REPAIRED_DURING_RUN'
  // needs-action
  | 'SOURCE_TABLE_MISSING'
  | 'SOURCE_COLUMN_MISSING'
  | 'SOURCE_NULL_KEY'
  | 'SOURCE_NULL_CURSOR'
  | 'TYPE_REFUSED'
  | 'KEY_NOT_INDEXABLE'
  | 'VALUE_REFUSED'
  | 'PRIMARY_KEY_CHANGED'
  | 'CURSOR_CHANGED'
  | 'DRIFT_INCOMPATIBLE'
  | 'TARGET_TAKEN'
  | 'SOURCE_CHANGED'
  | 'SOURCE_REWOUND'
  | 'ROW_SECURITY'
  | 'SOURCE_TEXT_NOT_UTF8'
  | 'SOURCE_REFUSED'
  | 'DISK_FULL'
  | 'PERMISSION_DENIED'
  | 'DUCKDB_IO'
  | 'DUCKDB_OUT_OF_MEMORY'
  | 'STATE_CORRUPT'
  | 'STATE_IO'
  | 'PG_QUERY_FAILED'
  | 'HISTORY_UNREADABLE'
  | 'REPLAY_REFUSED'
  | 'REPLAY_NO_PASS'
  | 'REPLAY_INCOMPLETE'
  | 'EMBEDDED_POSTGRES_FAILED'
  | 'DEMO_SCHEMA_MISSING'
  // config
  | 'AUTH_FAILED'
  | 'DATABASE_MISSING'
  | 'HOST_UNKNOWN'
  | 'CONNECTION_STRING_INVALID'
  | 'CONFIG_INVALID'
  | 'STATE_CANTOPEN'
  | 'STATE_READONLY'
  | 'LISTEN_UNAVAILABLE'
  // usage
  | 'USAGE'
  // internal
  | 'INTERNAL';

export interface PgduckErrorDetails {
  kind: ErrorKind;
  code: ErrorCode;
  /** What to run or change; absent when there is nothing better to say than the message. */
  fix?: string;
  cause?: unknown;
}

export class PgduckError extends Error {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly fix: string | undefined;

  constructor(message: string, details: PgduckErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PgduckError';
    this.kind = details.kind;
    this.code = details.code;
    this.fix = details.fix;
  }
}

/** The first PgduckError in an error's cause chain (the error itself first), or null. */
export function findPgduckError(error: unknown): PgduckError | null {
  for (const e of causeChain(error)) if (e instanceof PgduckError) return e;
  return null;
}

/** The error, its cause, its cause's cause…: at most 10, so a cycle cannot hang. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
