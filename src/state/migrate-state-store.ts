/**
 * The state store's schema, as numbered migrations recorded in `PRAGMA user_version`.
 *
 * Contract: migration n takes a file at version n-1 to version n; each runs in one IMMEDIATE
 * transaction together with its user_version, so a crash leaves the file at the old version or the
 * new one, and two processes opening one file at once migrate it once (the second re-reads the
 * version under the lock). Append migrations; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';

type Migration = (db: Database.Database) => void;

const MIGRATIONS: readonly Migration[] = [
  // 1: the schema as it stood before versioning. Files written then are all at user_version 0 and
  // differ in which later columns they have, so this one step probes table_info; no later one does.
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS checkpoints (
        pipeline       TEXT PRIMARY KEY,
        cursor         TEXT,
        key_json       TEXT,
        rows_total     INTEGER NOT NULL DEFAULT 0,
        batches_total  INTEGER NOT NULL DEFAULT 0,
        bootstrap_done INTEGER NOT NULL DEFAULT 0,
        updated_at     TEXT NOT NULL,
        last_status    TEXT,
        last_error     TEXT,
        last_run_at    TEXT
      );
      CREATE TABLE IF NOT EXISTS schema_events (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        pipeline TEXT NOT NULL,
        at       TEXT NOT NULL,
        kind     TEXT NOT NULL,
        detail   TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS source_columns (
        pipeline TEXT NOT NULL,
        attnum   INTEGER NOT NULL,
        name     TEXT NOT NULL,
        pg_type  TEXT NOT NULL,
        PRIMARY KEY (pipeline, attnum)
      );
      CREATE TABLE IF NOT EXISTS backfills (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        pipeline     TEXT NOT NULL,
        reason       TEXT NOT NULL,
        columns_json TEXT NOT NULL,
        key_json     TEXT,
        rows_done    INTEGER NOT NULL DEFAULT 0,
        created_at   TEXT NOT NULL,
        finished_at  TEXT
      );
    `);
    const columns = (table: string) => new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
    const sc = columns('source_columns');
    if (!sc.has('base_type')) db.exec('ALTER TABLE source_columns ADD COLUMN base_type TEXT');
    if (!sc.has('pk_position')) db.exec('ALTER TABLE source_columns ADD COLUMN pk_position INTEGER');
    if (!columns('checkpoints').has('generation')) db.exec('ALTER TABLE checkpoints ADD COLUMN generation INTEGER NOT NULL DEFAULT 0');
  },
  // 2: which cluster, database and table a pipeline reads (source-identity.ts), and the table's
  // relfilenode as of the last re-read (a rewrite moves it).
  (db) => {
    db.exec(`
      CREATE TABLE source_identity (
        pipeline    TEXT PRIMARY KEY,
        system_id   TEXT,
        database    TEXT NOT NULL,
        table_oid   TEXT NOT NULL,
        relfilenode TEXT,
        recorded_at TEXT NOT NULL
      );
    `);
  },
  // 3: the digests of the last NULL-cursor sweep's chunks (null-cursor-sweep.ts): an unchanged chunk is not written again.
  (db) => {
    db.exec(`
      CREATE TABLE null_cursor_chunks (
        pipeline TEXT NOT NULL,
        digest   TEXT NOT NULL,
        PRIMARY KEY (pipeline, digest)
      );
    `);
  },
  // 4: each pipeline's last reconcile (src/commands/reconcile.ts), for `pgduck status`.
  (db) => {
    db.exec(`
      CREATE TABLE reconciles (
        pipeline     TEXT PRIMARY KEY,
        at           TEXT NOT NULL,
        duration_ms  INTEGER NOT NULL,
        source_keys  INTEGER NOT NULL,
        target_keys  INTEGER NOT NULL,
        gone         INTEGER NOT NULL,
        removed      INTEGER NOT NULL,
        rows_read    INTEGER NOT NULL,
        error        TEXT
      );
    `);
  },
  // 5: what `pgduck status` shows beyond the checkpoint: the last run's duration, rows and bytes, the
  // rows in the target as counted after the last run that changed it, and the service's live state
  // per pipeline (running, backing off until…, blocked with the reason and fix), written by
  // `pgduck run` and read by `pgduck status` from another process.
  (db) => {
    db.exec(`
      ALTER TABLE checkpoints ADD COLUMN last_run_ms INTEGER;
      ALTER TABLE checkpoints ADD COLUMN last_run_rows INTEGER;
      ALTER TABLE checkpoints ADD COLUMN last_run_bytes INTEGER;
      ALTER TABLE checkpoints ADD COLUMN target_rows INTEGER;
      CREATE TABLE runner_state (
        pipeline   TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        since      TEXT,
        attempts   INTEGER NOT NULL DEFAULT 0,
        retry_at   TEXT,
        kind       TEXT,
        code       TEXT,
        message    TEXT,
        fix        TEXT,
        updated_at TEXT NOT NULL
      );
    `);
  },
  // 6: hard_delete_mode mark (src/repair/reconcile-pipeline.ts): the rows a reconcile marked gone
  // instead of removing, the mode it ran under, and whether a stop (SIGTERM) ended it before it applied anything.
  (db) => {
    db.exec(`
      ALTER TABLE reconciles ADD COLUMN marked INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE reconciles ADD COLUMN mode TEXT NOT NULL DEFAULT 'remove';
      ALTER TABLE reconciles ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
    `);
  },
  // 7: when the pipeline last succeeded, kept through failed runs (last_run_at is the last run of
  // any outcome), so a restarted service still publishes pgduck_last_success_timestamp_seconds after
  // a failure. Files at version 6 take it from their last run when that one succeeded.
  (db) => {
    db.exec(`
      ALTER TABLE checkpoints ADD COLUMN last_success_at TEXT;
      UPDATE checkpoints SET last_success_at = last_run_at WHERE last_status = 'ok';
    `);
  },
  // 8: what the last drift check made the target agree with (src/stages/target-check.ts): a digest of
  // the pipeline's target settings, the source's columns and the checkpoint generation, so an idle
  // run that finds all three unchanged leaves the DuckDB file closed. IF NOT EXISTS: a file taken back
  // to an older version by hand (as the tests do) may still have it.
  (db) => {
    db.exec(`
      CREATE TABLE IF NOT EXISTS target_checks (
        pipeline    TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL
      );
    `);
  },
  // 9: the columns the position was read on (JSON {cursor, key}), so a run whose pipeline file now
  // names another cursor or key refuses the old position instead of comparing it with other columns
  // (src/stages/extract.ts). NULL on positions written before: not checked.
  (db) => {
    db.exec('ALTER TABLE checkpoints ADD COLUMN position_on TEXT');
  },
  // 10: the DuckDB table the checkpoint's rows were loaded into (src/duckdb/target-identity.ts), so a
  // run whose target is now another table or file bootstraps it instead of continuing from a position
  // the new table never had (src/runner/run-pipeline.ts). NULL on checkpoints written before: not checked.
  (db) => {
    db.exec('ALTER TABLE checkpoints ADD COLUMN target TEXT');
  },
  // 11: the labels of the source's enum columns (src/postgres/source-identity.ts), so a label renamed
  // (ALTER TYPE … RENAME VALUE), which changes every row holding it without a rewrite, is re-read.
  // NULL on identities recorded before: adopted at the next run. A file set back to an older version
  // by hand (as the tests do) may still have the column.
  (db) => {
    const has = db.prepare(`SELECT 1 FROM pragma_table_info('source_identity') WHERE name = 'labels'`).get();
    if (!has) db.exec('ALTER TABLE source_identity ADD COLUMN labels TEXT');
  },
  // 12: where the source cluster was in its history (timeline, WAL position; source-identity.ts), so a
  // failover to a standby that was behind, or a restore, is not taken for the source the rows came
  // from. NULL on identities recorded before: adopted at the next run. (Probed, as in 11.)
  (db) => {
    for (const column of ['timeline', 'wal_lsn']) {
      const has = db.prepare(`SELECT 1 FROM pragma_table_info('source_identity') WHERE name = ?`).get(column);
      if (!has) db.exec(`ALTER TABLE source_identity ADD COLUMN ${column} TEXT`);
    }
  },
  // 13: the number of the last batch a run committed into the DuckDB table, which the commit also
  // writes into the file (src/duckdb/target-progress.ts): a file put back to an older copy is found.
  // NULL on checkpoints written before: not checked until the next commit records it. (Probed, as in 11.)
  (db) => {
    const has = db.prepare(`SELECT 1 FROM pragma_table_info('checkpoints') WHERE name = 'target_batches'`).get();
    if (!has) db.exec('ALTER TABLE checkpoints ADD COLUMN target_batches INTEGER');
  },
];

/** The version this code writes. */
export const STATE_STORE_VERSION = MIGRATIONS.length;

/** Bring the open file to STATE_STORE_VERSION; refuses a file written by a newer pgduck. */
export function migrateStateStore(db: Database.Database, path: string): void {
  const version = () => Number(db.pragma('user_version', { simple: true }));
  if (version() === STATE_STORE_VERSION) return;
  for (;;) {
    const done = db
      .transaction(() => {
        const at = version();
        if (at > STATE_STORE_VERSION) {
          throw new Error(`the state store ${path} is at schema version ${at}, newer than this pgduck knows (${STATE_STORE_VERSION}): run a newer pgduck`);
        }
        if (at === STATE_STORE_VERSION) return true;
        MIGRATIONS[at](db);
        db.pragma(`user_version = ${at + 1}`);
        return false;
      })
      .immediate();
    if (done) return;
  }
}
