/**
 * The state store: one SQLite database (WAL, synchronous=FULL), one checkpoint row per pipeline.
 *
 * Contract: a checkpoint is written only after the batch it covers is committed in DuckDB (rule 5),
 * so after a crash the store is at most one batch behind the target, never ahead. Cursor and key
 * values are stored as the exact Postgres text (microseconds intact: they never pass through a Date).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrateStateStore } from './migrate-state-store.js';
import type { SourceIdentity } from '../postgres/source-identity.js';
import { PgduckError, type ErrorKind } from '../errors/pgduck-error.js';
import { decodeFailure, encodeFailure } from '../errors/recorded-failure.js';

/** A keyset position: the last (cursor, key…) applied, as exact Postgres text. */
export interface Position {
  cursor: string;
  key: string[];
}

/** The columns a position was read on: the pipeline's cursor and key columns then. */
export interface PositionColumns {
  cursor: string;
  key: string[];
}

export interface Checkpoint {
  pipeline: string;
  position: Position | null;
  /** The cursor and key columns `position` was read on (null: written by a pgduck that did not record them). */
  positionOn: PositionColumns | null;
  /** The DuckDB table the rows were loaded into (src/duckdb/target-identity.ts); null: not recorded (before pgduck did, or after a reset). */
  target: string | null;
  rowsTotal: number;
  batchesTotal: number;
  bootstrapDone: boolean;
  updatedAt: string;
  lastStatus: string | null;
  lastError: string | null;
  lastRunAt: string | null;
  /** When a run last succeeded; unlike lastRunAt, a failed run leaves it (null: never, or not recorded). */
  lastSuccessAt: string | null;
  /** Bumped by every `reset`: a run writes its checkpoint only while the generation it started with is current. */
  generation: number;
  /** The last run's duration, rows and Parquet bytes (null: not recorded, e.g. before pgduck recorded them). */
  lastRunMs: number | null;
  lastRunRows: number | null;
  lastRunBytes: number | null;
  /** Rows in the DuckDB table, counted after the last run that changed it (null: never counted). */
  targetRows: number | null;
  /**
   * The number of the last batch a run committed into the DuckDB table, which that commit also wrote
   * into the file (src/duckdb/target-progress.ts); null: none since the last reset (or recorded before).
   */
  targetBatches: number | null;
}

/** What the last run did, recorded with its outcome. */
export interface RunFacts {
  durationMs: number;
  rows: number;
  bytes?: number | null;
}

/**
 * The service's live state of one pipeline, as `pgduck run` last wrote it (README "Commands",
 * `pgduck status`). Times are ISO strings.
 */
export interface RunnerState {
  pipeline: string;
  state: 'idle' | 'running' | 'backing-off' | 'blocked';
  /** The failure streak's start, while failing. */
  since: string | null;
  attempts: number;
  /** backing-off: when the retry runs; blocked: when the next probe is due. */
  retryAt: string | null;
  kind: string | null;
  code: string | null;
  message: string | null;
  fix: string | null;
  updatedAt: string;
}

/** What a reconcile found and did (src/repair/reconcile-pipeline.ts). */
export interface ReconcileRecord {
  pipeline: string;
  at: string;
  durationMs: number;
  sourceKeys: number;
  targetKeys: number;
  /** Keys in the target that the source no longer had when hashed. */
  gone: number;
  /** Of those, removed from the target (a key back in the source by then is written instead). */
  removed: number;
  /** Of those, under hard_delete_mode mark: kept in the target with `_pgduck_deleted_at` set. */
  marked: number;
  /** The pipeline's hard_delete_mode when it ran (what status and the output say: "removed" or "marked"). */
  mode: 'remove' | 'mark';
  /** A stop (SIGTERM, the service stopping) ended it between key ranges: what it had found was not applied. Not a failure. */
  stopped: boolean;
  /** Rows both sides read to compare key ranges (aggregates and the narrowed leaves). */
  rowsRead: number;
  /**
   * Of those, what Postgres did: rows it hashed into range digests, and rows (a key and its digest
   * each) it sent back one by one. Said by `pgduck reconcile --json`; not kept in the state store.
   */
  sourceRowsHashed?: number;
  sourceRowsFetched?: number;
  error: string | null;
  /** With `error`: its kind and code (stored in the error text as `[kind CODE] message`, as a run's last_error is). */
  errorKind?: ErrorKind | null;
  errorCode?: string | null;
}

/** A run tried to write a checkpoint that `pgduck reset` cleared after the run started. */
export class CheckpointResetError extends PgduckError {
  constructor(pipeline: string) {
    super(`the checkpoint of ${pipeline} was reset while this run was in flight: the run stops without writing it back; the next run bootstraps`, {
      kind: 'transient',
      code: 'CHECKPOINT_RESET_DURING_RUN',
    });
    this.name = 'CheckpointResetError';
  }
}

export interface SchemaEvent {
  pipeline: string;
  at: string;
  kind: string;
  detail: string;
}

export interface SourceColumnRecord {
  attnum: number;
  name: string;
  /** Declared type (domain names kept), for messages. */
  pgType: string;
  /** Base type after resolving domains (format_type): what type changes are detected on. Null in snapshots written before it existed. */
  baseType?: string | null;
  /** 1-based position in the source table's own primary key, null when not part of it. */
  pkPosition?: number | null;
}

/**
 * A backfill: existing target rows re-read from the source for some columns (a column added with a
 * DEFAULT, a changed type), in keyset batches on the primary key. Recorded before the DDL that makes
 * it necessary, advanced after each batch commits in DuckDB, finished at the end: a crash resumes
 * from the last committed batch (re-applying one batch is harmless). Never touches the main checkpoint.
 */
export interface Backfill {
  id: number;
  pipeline: string;
  /**
   * 'added': columns new to the target; 'retyped': columns whose source type changed; 'rewritten':
   * the table was rewritten (its relfilenode moved) since the last run, so any column may hold new values.
   */
  reason: 'added' | 'retyped' | 'rewritten';
  /** Columns by attnum (stable across renames) with the name they had when recorded. */
  columns: { attnum: number; name: string }[];
  /** Last primary key applied, as exact Postgres text; null: from the beginning. */
  position: string[] | null;
  rowsDone: number;
  createdAt: string;
  finishedAt: string | null;
}

interface BackfillRow {
  id: number;
  pipeline: string;
  reason: string;
  columns_json: string;
  key_json: string | null;
  rows_done: number;
  created_at: string;
  finished_at: string | null;
}

interface CheckpointRow {
  pipeline: string;
  cursor: string | null;
  key_json: string | null;
  position_on: string | null;
  target: string | null;
  rows_total: number;
  batches_total: number;
  bootstrap_done: number;
  updated_at: string;
  last_status: string | null;
  last_error: string | null;
  last_run_at: string | null;
  last_success_at: string | null;
  generation: number;
  last_run_ms: number | null;
  last_run_rows: number | null;
  last_run_bytes: number | null;
  target_rows: number | null;
  target_batches: number | null;
}

export class CheckpointStore {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // ~0.3 ms a commit here (docs/architecture.md#facts-sqlite); a checkpoint that is not durable is not a checkpoint.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    migrateStateStore(this.db, path);
  }

  get(pipeline: string): Checkpoint | null {
    const row = this.db.prepare('SELECT * FROM checkpoints WHERE pipeline = ?').get(pipeline) as CheckpointRow | undefined;
    return row ? toCheckpoint(row) : null;
  }

  all(): Checkpoint[] {
    return (this.db.prepare('SELECT * FROM checkpoints ORDER BY pipeline').all() as CheckpointRow[]).map(toCheckpoint);
  }

  /**
   * Record a committed batch. `position` is the commit-safe position (may equal the previous one when
   * every row of the batch was above the horizon); rows/batches are cumulative counters. `batches`: how
   * many history seqs this step took (default 1; a repair writing its rows and a deletes file: 2).
   */
  advance(
    pipeline: string,
    update: {
      position: Position | null;
      rows: number;
      bootstrapDone?: boolean;
      batches?: number;
      on?: PositionColumns;
      target?: string;
      /** The batch's number, when a run committed it into the DuckDB table (and wrote it there: target-progress.ts). */
      seq?: number;
    },
    generation = 0,
  ): void {
    const now = new Date().toISOString();
    const res = this.writing(`the checkpoint of ${pipeline}`, () =>
      this.db
        .prepare(
          `INSERT INTO checkpoints (pipeline, cursor, key_json, position_on, target, rows_total, batches_total, bootstrap_done, target_batches, updated_at)
           VALUES (@pipeline, @cursor, @key, @on, @target, @rows, @batches, @boot, @seq, @now)
           ON CONFLICT (pipeline) DO UPDATE SET
             cursor = coalesce(@cursor, cursor),
             target_batches = coalesce(@seq, target_batches),
             target = coalesce(@target, target),
             key_json = coalesce(@key, key_json),
             position_on = CASE WHEN @key IS NULL THEN position_on ELSE @on END,
             rows_total = rows_total + @rows,
             batches_total = batches_total + @batches,
             bootstrap_done = max(bootstrap_done, @boot),
             updated_at = @now
           WHERE checkpoints.generation = @generation`,
        )
        .run({
          pipeline,
          cursor: update.position?.cursor ?? null,
          key: update.position ? JSON.stringify(update.position.key) : null,
          on: update.position && update.on ? JSON.stringify(update.on) : null,
          target: update.target ?? null,
          rows: update.rows,
          batches: update.batches ?? 1,
          boot: update.bootstrapDone ? 1 : 0,
          seq: update.seq ?? null,
          now,
          generation,
        }),
    );
    if (res.changes === 0) throw new CheckpointResetError(pipeline);
  }

  /** `target`: the DuckDB table the (possibly empty) bootstrap loaded (src/duckdb/target-identity.ts). */
  markBootstrapDone(pipeline: string, generation = 0, target: string | null = null): void {
    const now = new Date().toISOString();
    const res = this.writing(`the checkpoint of ${pipeline}`, () =>
      this.db
        .prepare(
          `INSERT INTO checkpoints (pipeline, bootstrap_done, target, updated_at) VALUES (@pipeline, 1, @target, @now)
           ON CONFLICT (pipeline) DO UPDATE SET bootstrap_done = 1, target = coalesce(@target, target) WHERE checkpoints.generation = @generation`,
        )
        .run({ pipeline, now, generation, target }),
    );
    if (res.changes === 0) throw new CheckpointResetError(pipeline);
  }

  /** Outcome of a run, for `status`. Never touches the position. */
  recordRun(pipeline: string, status: 'ok' | 'failed', error?: string, facts?: RunFacts): void {
    const now = new Date().toISOString();
    this.writing(`the last run of ${pipeline}`, () =>
      this.db
        .prepare(
          `INSERT INTO checkpoints (pipeline, updated_at, last_status, last_error, last_run_at, last_run_ms, last_run_rows, last_run_bytes, last_success_at)
           VALUES (@p, @now, @s, @e, @now, @ms, @rows, @bytes, CASE WHEN @s = 'ok' THEN @now END)
           ON CONFLICT (pipeline) DO UPDATE SET last_status = @s, last_error = @e, last_run_at = @now,
             last_run_ms = @ms, last_run_rows = @rows, last_run_bytes = @bytes,
             last_success_at = CASE WHEN @s = 'ok' THEN @now ELSE checkpoints.last_success_at END`,
        )
        .run({ p: pipeline, now, s: status, e: error ?? null, ms: facts?.durationMs ?? null, rows: facts?.rows ?? null, bytes: facts?.bytes ?? null }),
    );
  }

  /** Rows in the pipeline's DuckDB table, as just counted (status reads it without opening the lake). */
  recordTargetRows(pipeline: string, rows: number): void {
    this.writing(`the row count of ${pipeline}`, () => this.db.prepare('UPDATE checkpoints SET target_rows = ? WHERE pipeline = ?').run(rows, pipeline));
  }

  /** The service's live state of a pipeline (one row each; replaced on every change). */
  setRunnerState(state: Omit<RunnerState, 'updatedAt'>): void {
    this.writing(`the service state of ${state.pipeline}`, () =>
      this.db
        .prepare(
          `INSERT INTO runner_state (pipeline, state, since, attempts, retry_at, kind, code, message, fix, updated_at)
           VALUES (@pipeline, @state, @since, @attempts, @retryAt, @kind, @code, @message, @fix, @now)
           ON CONFLICT (pipeline) DO UPDATE SET state = @state, since = @since, attempts = @attempts, retry_at = @retryAt,
             kind = @kind, code = @code, message = @message, fix = @fix, updated_at = @now`,
        )
        .run({ ...state, now: new Date().toISOString() }),
    );
  }

  /** Forget the service's state: of one pipeline (unscheduled), or of all (the service starts or stops). */
  clearRunnerState(pipeline?: string): void {
    this.writing('the service state', () =>
      pipeline ? this.db.prepare('DELETE FROM runner_state WHERE pipeline = ?').run(pipeline) : this.db.prepare('DELETE FROM runner_state').run(),
    );
  }

  runnerStates(): RunnerState[] {
    return this.db
      .prepare(
        'SELECT pipeline, state, since, attempts, retry_at AS retryAt, kind, code, message, fix, updated_at AS updatedAt FROM runner_state ORDER BY pipeline',
      )
      .all() as RunnerState[];
  }

  /**
   * `reset`: forget the position so the next run bootstraps; counters of Parquet batches are kept so history files are not overwritten.
   * The source's identity is forgotten too: the next run adopts whatever it then reads. One transaction.
   */
  reset(pipeline: string): boolean {
    const tx = this.db.transaction(() => {
      const res = this.db
        // generation + 1: a run still in flight (started before the reset) can no longer write its position back.
        .prepare(
          `UPDATE checkpoints SET cursor = NULL, key_json = NULL, position_on = NULL, target = NULL, target_batches = NULL, bootstrap_done = 0, rows_total = 0, last_error = NULL, generation = generation + 1 WHERE pipeline = ?`,
        )
        .run(pipeline);
      this.db.prepare('DELETE FROM source_columns WHERE pipeline = ?').run(pipeline);
      // A re-bootstrap reads every column of every row: pending backfills have nothing left to do.
      this.db.prepare('DELETE FROM backfills WHERE pipeline = ? AND finished_at IS NULL').run(pipeline);
      this.db.prepare('DELETE FROM source_identity WHERE pipeline = ?').run(pipeline);
      this.db.prepare('DELETE FROM null_cursor_chunks WHERE pipeline = ?').run(pipeline);
      this.db.prepare('DELETE FROM target_checks WHERE pipeline = ?').run(pipeline);
      return res.changes > 0;
    });
    return this.writing(`the reset of ${pipeline}`, () => tx.immediate());
  }

  /** Record a pipeline's reconcile (the last one is kept). */
  recordReconcile(pipeline: string, r: Omit<ReconcileRecord, 'pipeline'>): void {
    const { errorKind, errorCode, sourceRowsHashed: _hashed, sourceRowsFetched: _fetched, ...fields } = r;
    const error = fields.error !== null && errorKind && errorCode ? encodeFailure({ kind: errorKind, code: errorCode, message: fields.error }) : fields.error;
    this.writing(`the reconcile of ${pipeline}`, () =>
      this.db
        .prepare(
          `INSERT OR REPLACE INTO reconciles (pipeline, at, duration_ms, source_keys, target_keys, gone, removed, marked, mode, stopped, rows_read, error)
           VALUES (@pipeline, @at, @durationMs, @sourceKeys, @targetKeys, @gone, @removed, @marked, @mode, @stopped, @rowsRead, @error)`,
        )
        .run({ ...fields, stopped: fields.stopped ? 1 : 0, pipeline, error }),
    );
  }

  lastReconcile(pipeline: string): ReconcileRecord | null {
    const found = this.db
      .prepare(
        `SELECT pipeline, at, duration_ms AS durationMs, source_keys AS sourceKeys, target_keys AS targetKeys, gone, removed, marked, mode,
           stopped, rows_read AS rowsRead, error
         FROM reconciles WHERE pipeline = ?`,
      )
      .get(pipeline) as (Omit<ReconcileRecord, 'stopped'> & { stopped: number | boolean }) | undefined;
    if (!found) return null;
    const row: ReconcileRecord = { ...found, stopped: found.stopped === 1 || found.stopped === true };
    if (row.error === null) return { ...row, errorKind: null, errorCode: null };
    const failure = decodeFailure(row.error);
    return { ...row, error: failure.message, errorKind: failure.kind, errorCode: failure.code };
  }

  /** Digests of the chunks the last NULL-cursor sweep read (src/stages/null-cursor-sweep.ts). */
  nullCursorChunks(pipeline: string): Set<string> {
    const rows = this.db.prepare('SELECT digest FROM null_cursor_chunks WHERE pipeline = ?').all(pipeline) as { digest: string }[];
    return new Set(rows.map((r) => r.digest));
  }

  /**
   * Forget the last NULL-cursor sweep's digests: the next sweep then writes every chunk. Called when
   * something may have changed the target's rows behind them (a run's first batch, which keeps a copy
   * in memory; a repair or reconcile).
   */
  forgetNullCursorChunks(pipeline: string): void {
    this.writing(`the NULL-cursor sweep of ${pipeline}`, () => this.db.prepare('DELETE FROM null_cursor_chunks WHERE pipeline = ?').run(pipeline));
  }

  /**
   * Record one chunk of a NULL-cursor sweep, in one transaction: its digest (the first chunk of a sweep
   * replaces the last sweep's digests) and, when it was written to DuckDB, its rows and its batch number
   * (the position does not move: those rows are not in cursor order).
   */
  recordNullCursorChunk(pipeline: string, chunk: { digest: string; first: boolean; rows: number }, generation = 0): void {
    const tx = this.db.transaction(() => {
      if (chunk.first) this.db.prepare('DELETE FROM null_cursor_chunks WHERE pipeline = ?').run(pipeline);
      this.db.prepare('INSERT OR IGNORE INTO null_cursor_chunks (pipeline, digest) VALUES (?, ?)').run(pipeline, chunk.digest);
      if (chunk.rows > 0) this.advance(pipeline, { position: null, rows: chunk.rows }, generation);
    });
    this.writing(`the NULL-cursor sweep of ${pipeline}`, () => tx.immediate());
  }

  /** The source this pipeline was synced from, as recorded (null: never recorded, or reset since). */
  sourceIdentity(pipeline: string): (SourceIdentity & { recordedAt: string }) | null {
    const row = this.db
      .prepare(
        'SELECT system_id AS systemId, database, table_oid AS tableOid, relfilenode, labels, timeline, wal_lsn AS walLsn, recorded_at AS recordedAt FROM source_identity WHERE pipeline = ?',
      )
      .get(pipeline);
    return (row as (SourceIdentity & { recordedAt: string }) | undefined) ?? null;
  }

  saveSourceIdentity(pipeline: string, identity: SourceIdentity): void {
    this.writing(`the source identity of ${pipeline}`, () => this.upsertIdentity(pipeline, identity));
  }

  /** The source's WAL position a run that succeeded began reading at (SourceIdentity.walLsn); kept where no identity is recorded. */
  recordSourceWalLsn(pipeline: string, walLsn: string): void {
    this.writing(`the source identity of ${pipeline}`, () =>
      this.db.prepare('UPDATE source_identity SET wal_lsn = ? WHERE pipeline = ?').run(walLsn, pipeline),
    );
  }

  /**
   * The table was rewritten: record a re-read of `columns` (every column but the key and the cursor;
   * none for a table of only those: the re-read still inserts the rows the target lacks) and the new
   * relfilenode, in one transaction, so a crash cannot keep the one without the other. A rewrite re-read
   * still pending is finished unread, superseded: rows attached since may sort before where it stands,
   * so the new one starts from the first key (both found by review: a pending re-read resumed past
   * an attached partition's keys; a key-and-cursor table recorded none). Every column, even one a
   * pending backfill of another reason re-reads: inserting the missing rows needs all of them in one file.
   */
  recordRewrite(pipeline: string, identity: SourceIdentity, columns: Backfill['columns']): void {
    const tx = this.db.transaction(() => {
      for (const b of this.pendingBackfills(pipeline)) if (b.reason === 'rewritten') this.finishBackfill(b.id);
      this.addBackfill(pipeline, 'rewritten', columns);
      this.upsertIdentity(pipeline, identity);
    });
    this.writing(`the rewrite of ${pipeline}'s source`, () => tx.immediate());
  }

  private upsertIdentity(pipeline: string, identity: SourceIdentity): void {
    this.db
      .prepare(
        `INSERT INTO source_identity (pipeline, system_id, database, table_oid, relfilenode, labels, timeline, wal_lsn, recorded_at)
         VALUES (@pipeline, @systemId, @database, @tableOid, @relfilenode, @labels, @timeline, @walLsn, @now)
         ON CONFLICT (pipeline) DO UPDATE SET system_id = @systemId, database = @database, table_oid = @tableOid, relfilenode = @relfilenode,
           labels = @labels, timeline = @timeline, wal_lsn = @walLsn, recorded_at = @now`,
      )
      .run({
        pipeline,
        systemId: identity.systemId,
        database: identity.database,
        tableOid: identity.tableOid,
        relfilenode: identity.relfilenode,
        labels: identity.labels ?? null,
        timeline: identity.timeline ?? null,
        walLsn: identity.walLsn ?? null,
        now: new Date().toISOString(),
      });
  }

  addSchemaEvent(pipeline: string, kind: string, detail: string): void {
    this.db.prepare('INSERT INTO schema_events (pipeline, at, kind, detail) VALUES (?, ?, ?, ?)').run(pipeline, new Date().toISOString(), kind, detail);
  }

  schemaEvents(pipeline?: string): SchemaEvent[] {
    const sql = `SELECT pipeline, at, kind, detail FROM schema_events ${pipeline ? 'WHERE pipeline = ?' : ''} ORDER BY id`;
    return (pipeline ? this.db.prepare(sql).all(pipeline) : this.db.prepare(sql).all()) as SchemaEvent[];
  }

  /** The source columns as the last successful drift check saw them (empty: none recorded yet). */
  sourceColumns(pipeline: string): SourceColumnRecord[] {
    return this.db
      .prepare(
        'SELECT attnum, name, pg_type AS pgType, base_type AS baseType, pk_position AS pkPosition FROM source_columns WHERE pipeline = ? ORDER BY attnum',
      )
      .all(pipeline) as SourceColumnRecord[];
  }

  saveSourceColumns(pipeline: string, columns: SourceColumnRecord[]): void {
    const tx = this.db.transaction(() => {
      this.db.prepare('DELETE FROM source_columns WHERE pipeline = ?').run(pipeline);
      const ins = this.db.prepare('INSERT INTO source_columns (pipeline, attnum, name, pg_type, base_type, pk_position) VALUES (?, ?, ?, ?, ?, ?)');
      for (const c of columns) ins.run(pipeline, c.attnum, c.name, c.pgType, c.baseType ?? null, c.pkPosition ?? null);
    });
    tx();
  }

  /** What the last drift check made the target agree with (src/stages/target-check.ts); null: none recorded. */
  targetCheck(pipeline: string): string | null {
    const row = this.db.prepare('SELECT fingerprint FROM target_checks WHERE pipeline = ?').get(pipeline) as { fingerprint: string } | undefined;
    return row?.fingerprint ?? null;
  }

  saveTargetCheck(pipeline: string, fingerprint: string): void {
    this.writing(`the target check of ${pipeline}`, () =>
      this.db.prepare('INSERT OR REPLACE INTO target_checks (pipeline, fingerprint) VALUES (?, ?)').run(pipeline, fingerprint),
    );
  }

  /** The last schema event of a pipeline, if any (to report a repeated refusal once). */
  lastSchemaEvent(pipeline: string): SchemaEvent | null {
    const row = this.db.prepare('SELECT pipeline, at, kind, detail FROM schema_events WHERE pipeline = ? ORDER BY id DESC LIMIT 1').get(pipeline);
    return (row as SchemaEvent | undefined) ?? null;
  }

  /** Record a backfill to do; call before the DDL that makes it necessary. Returns its id. */
  addBackfill(pipeline: string, reason: Backfill['reason'], columns: Backfill['columns']): number {
    const res = this.db
      .prepare('INSERT INTO backfills (pipeline, reason, columns_json, created_at) VALUES (?, ?, ?, ?)')
      .run(pipeline, reason, JSON.stringify(columns), new Date().toISOString());
    return Number(res.lastInsertRowid);
  }

  /** Unfinished backfills of a pipeline, oldest first. */
  pendingBackfills(pipeline: string): Backfill[] {
    return (this.db.prepare('SELECT * FROM backfills WHERE pipeline = ? AND finished_at IS NULL ORDER BY id').all(pipeline) as BackfillRow[]).map(toBackfill);
  }

  /** Every backfill (for `status`), oldest first. */
  backfills(pipeline?: string): Backfill[] {
    const sql = `SELECT * FROM backfills ${pipeline ? 'WHERE pipeline = ?' : ''} ORDER BY id`;
    return ((pipeline ? this.db.prepare(sql).all(pipeline) : this.db.prepare(sql).all()) as BackfillRow[]).map(toBackfill);
  }

  /** A batch of the backfill is committed in DuckDB up to `position` (a key, exact text). Never moves backwards within a backfill. */
  advanceBackfill(id: number, position: string[], rows: number, columns?: Backfill['columns']): void {
    this.db
      .prepare('UPDATE backfills SET key_json = ?, rows_done = rows_done + ?, columns_json = coalesce(?, columns_json) WHERE id = ? AND finished_at IS NULL')
      .run(JSON.stringify(position), rows, columns ? JSON.stringify(columns) : null, id);
  }

  finishBackfill(id: number): void {
    this.db.prepare('UPDATE backfills SET finished_at = ? WHERE id = ? AND finished_at IS NULL').run(new Date().toISOString(), id);
  }

  close(): void {
    this.db.close();
  }

  /** A failed write names the store file (a full disk, a lock held elsewhere beyond busy_timeout): the caller's message says where. */
  private writing<T>(what: string, write: () => T): T {
    try {
      return write();
    } catch (err) {
      if (err instanceof PgduckError) throw err; // already says what happened (a reset mid-run)
      throw new Error(`cannot write ${what} to ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function toBackfill(row: BackfillRow): Backfill {
  return {
    id: row.id,
    pipeline: row.pipeline,
    reason: row.reason as Backfill['reason'],
    columns: JSON.parse(row.columns_json) as Backfill['columns'],
    position: row.key_json === null ? null : (JSON.parse(row.key_json) as string[]),
    rowsDone: row.rows_done,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    pipeline: row.pipeline,
    position: row.cursor !== null && row.key_json !== null ? { cursor: row.cursor, key: JSON.parse(row.key_json) as string[] } : null,
    positionOn: row.position_on === null ? null : (JSON.parse(row.position_on) as PositionColumns),
    target: row.target ?? null,
    rowsTotal: row.rows_total,
    batchesTotal: row.batches_total,
    bootstrapDone: row.bootstrap_done === 1,
    updatedAt: row.updated_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    lastRunAt: row.last_run_at,
    lastSuccessAt: row.last_success_at ?? null,
    generation: row.generation ?? 0,
    lastRunMs: row.last_run_ms ?? null,
    lastRunRows: row.last_run_rows ?? null,
    lastRunBytes: row.last_run_bytes ?? null,
    targetRows: row.target_rows ?? null,
    targetBatches: row.target_batches ?? null,
  };
}
