import type { ConfigPath } from '../config/config-path.js';

/** What a live check is about; stable, for `--json` consumers. */
export type LiveCheck =
  | 'connect' // the connection itself
  | 'table' // the source relation exists
  | 'privilege' // the role may read it
  | 'primary-key' // key columns exist, are NOT NULL and unique
  | 'cursor' // cursor column exists, has a usable type, NULLs
  | 'soft-delete' // tombstone column exists
  | 'index' // an index serves ORDER BY (cursor, key…)
  | 'type' // every column maps to DuckDB exactly or is refused
  | 'columns' // every column source.columns lists exists in the source
  | 'column-name' // no two columns are one name to DuckDB (its identifiers ignore case)
  | 'stats' // the role sees other sessions in pg_stat_activity
  | 'standby' // the server is a hot standby: its pg_stat_activity does not show the primary's sessions
  | 'prepared' // prepared transactions are pending (pg_stat_activity does not show them)
  | 'subscriber' // the database is a logical-replication subscriber: a publisher's open transaction is not seen
  | 'untracked' // track_activities is off for some sessions: their open transactions are not seen
  | 'foreign' // the source is or reads a foreign table: its writers' open transactions are on another server
  | 'matview' // a materialized view: rows a REFRESH … CONCURRENTLY brings with older cursors are not read
  | 'view' // a view: a rewrite of a table it reads (TRUNCATE and reload) is not seen
  | 'duckdb'; // the DuckDB file is writable and not locked

/**
 * A live problem before it is pinned to a line: about one pipeline (`path` is the field the fix
 * belongs to) or about something several pipelines share (a connection, a DuckDB file).
 */
export interface LiveIssue {
  check: LiveCheck;
  /** error: the pipeline cannot sync correctly (exit 1). warning: it can, with a caveat worth reading. */
  severity: 'error' | 'warning';
  path: ConfigPath;
  /** The source column the problem is about, when there is one. */
  column?: string;
  message: string;
  /** SQL or an action that fixes it, to print on its own lines (copy-paste ready). */
  fix?: string;
  /**
   * `pgduck run` refuses the pipeline too, before it reads (src/runner/source-guard.ts): syncing
   * anyway would silently lose, collapse or mix rows. Only errors carry it.
   */
  blocksRun?: true;
}

/**
 * One finding of `pgduck validate --connect`, pinned like a config problem to `file:line:col path`
 * (the field of the first pipeline concerned). `pipelines` names every pipeline it affects.
 * `message` and `fix` never contain a password: connection strings are redacted.
 */
export interface LiveFinding {
  check: LiveCheck;
  severity: 'error' | 'warning';
  pipelines: string[];
  file: string;
  line: number;
  col: number;
  path: string;
  column: string | null;
  message: string;
  fix: string | null;
}
