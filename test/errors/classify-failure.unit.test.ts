/**
 * The failure wording and its kind, without a database: each recognised cause is named (and keeps the
 * words explain-failure used to give it), wherever it sits in the cause chain; anything else keeps its
 * own message and is `internal`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure } from '../../src/runner/classify-failure.js';
import { StageError } from '../../src/runner/stage-error.js';
import { PgduckError } from '../../src/errors/pgduck-error.js';
import { parseLockConflict } from '../../src/duckdb/lock-conflict.js';
import { isConnectionLost } from '../../src/postgres/classify-postgres-error.js';
import { CheckpointResetError } from '../../src/state/checkpoint-store.js';
import { UsageError } from '../../src/errors/usage-error.js';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a lost connection is recognised by SQLSTATE, by socket error and by what pg says: transient', () => {
  for (const err of [
    coded('terminating connection due to administrator command', '57P01'),
    coded('the database system is shutting down', '57P03'),
    coded('read ECONNRESET', 'ECONNRESET'),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
  ]) {
    assert.equal(isConnectionLost(err), true, err.message);
    assert.equal(classifyFailure(err).kind, 'transient', err.message);
  }
  assert.equal(isConnectionLost(coded('relation "x" does not exist', '42P01')), false);
  const wrapped = new Error('cannot read columns of public.t', { cause: coded('terminating connection due to administrator command', '57P01') });
  const lost = classifyFailure(wrapped);
  assert.equal(lost.message, 'the connection to Postgres was lost (cannot read columns of public.t)');
  assert.deepEqual([lost.kind, lost.code], ['transient', 'PG_CONNECTION_LOST']);
  assert.equal(lost.cause, wrapped, 'wrapped, not stringified');
});

test('a failed connect classified where it was thrown keeps its kind and words through every wrapper', () => {
  const connect = new PgduckError('cannot connect to Postgres at postgres://a:****@h/d: password authentication failed', {
    kind: 'config',
    code: 'AUTH_FAILED',
    fix: 'check the password',
    cause: coded('password authentication failed for user "a"', '28P01'),
  });
  assert.equal(classifyFailure(connect), connect);
  const stage = new StageError({ pipeline: 'p', stage: 'setup', resumeFrom: null }, { cause: connect });
  assert.deepEqual([stage.kind, stage.code, stage.fix], ['config', 'AUTH_FAILED', 'check the password']);
  assert.equal(stage.message, `pipeline p failed in setup: ${connect.message} — checkpoint not advanced; next run starts from the beginning of the table`);
  assert.equal(stage.cause, connect);
  const outer = classifyFailure(new Error('while planning', { cause: connect }));
  assert.deepEqual([outer.kind, outer.code, outer.message], ['config', 'AUTH_FAILED', 'while planning']);
});

test('a StageError takes its kind from its cause: a dropped connection heals, an incompatible drift needs action', () => {
  const at = {
    pipeline: 'orders',
    stage: 'extract' as const,
    batch: 7,
    resumeFrom: { cursor: '2026-01-05 10:31:12.004113+00', key: ['2100'] },
    committed: { batches: 6, rows: 3000 },
  };
  const dropped = new StageError(at, { cause: coded('terminating connection due to administrator command', '57P01') });
  assert.deepEqual([dropped.kind, dropped.code], ['transient', 'PG_CONNECTION_LOST']);
  assert.equal(
    dropped.message,
    'pipeline orders failed in extract (batch 7): the connection to Postgres was lost (terminating connection due to administrator command) — ' +
      '6 batches of this run committed (3000 rows); checkpoint not advanced past them; next run re-reads from 2026-01-05 10:31:12.004113+00 / 2100',
  );
  const drift = new PgduckError('schema drift in public.orders: …', {
    kind: 'needs-action',
    code: 'DRIFT_INCOMPATIBLE',
    fix: 'pgduck reset orders --drop-target',
  });
  const failed = new StageError({ ...at, stage: 'drift-check' }, { cause: drift });
  assert.deepEqual([failed.kind, failed.code, failed.fix], ['needs-action', 'DRIFT_INCOMPATIBLE', 'pgduck reset orders --drop-target']);
  assert.equal(classifyFailure(failed), failed);
});

test('a full disk is named whatever reported it; the message keeps where it happened', () => {
  const fs = new Error('cannot write Parquet file p/1.parquet: ENOSPC: no space left on device, write', {
    cause: coded('ENOSPC: no space left on device, write', 'ENOSPC'),
  });
  const full = classifyFailure(fs);
  assert.match(full.message, /^the disk is full: cannot write Parquet file p\/1\.parquet: .*; free some space, then run again$/);
  assert.deepEqual([full.kind, full.code], ['needs-action', 'DISK_FULL']);
  const sqlite = new Error('cannot write the checkpoint of a to s/checkpoints.db: database or disk is full', {
    cause: coded('database or disk is full', 'SQLITE_FULL'),
  });
  assert.match(classifyFailure(sqlite).message, /^the disk is full: cannot write the checkpoint of a to s\/checkpoints\.db/);
  assert.match(classifyFailure(new Error('IO Error: Could not write file "/l/w.duckdb.wal": No space left on device')).message, /^the disk is full: IO Error/);
});

test('a DuckDB lock names the file and the holder when DuckDB does: transient', () => {
  const text =
    'IO Error: Could not set lock on file "/l/w.duckdb": Conflicting lock is held in /usr/local/bin/duckdb (PID 4242) by user ann. See also https://duckdb.org/docs/stable/connect/concurrency';
  assert.deepEqual(parseLockConflict(text), { file: '/l/w.duckdb', program: 'duckdb', pid: 4242 });
  const locked = classifyFailure(new Error(`cannot open DuckDB file /l/w.duckdb: ${text}`));
  assert.match(locked.message, /^the DuckDB file \/l\/w\.duckdb is locked by another process \(duckdb, PID 4242\): close it there/);
  assert.deepEqual([locked.kind, locked.code], ['transient', 'DUCKDB_LOCKED']);
  assert.match(
    classifyFailure(new Error('IO Error: Could not set lock on file "/l/w.duckdb"')).message,
    /^the DuckDB file \/l\/w\.duckdb is locked by another process: /,
  );
  assert.equal(parseLockConflict('IO Error: Cannot open file "/l/w.duckdb": Permission denied'), null);
});

test("pgduck's own error classes carry their kinds", () => {
  assert.deepEqual([new UsageError('x').kind, new UsageError('x').code], ['usage', 'USAGE']);
  const reset = new CheckpointResetError('a');
  assert.deepEqual([reset.kind, reset.code], ['transient', 'CHECKPOINT_RESET_DURING_RUN']);
  assert.ok(reset instanceof PgduckError);
});

test('any other failure keeps its own message and is internal', () => {
  const other = classifyFailure(new Error('something no classifier knows'));
  assert.deepEqual([other.kind, other.code, other.message], ['internal', 'INTERNAL', 'something no classifier knows']);
  assert.equal(classifyFailure('a string').message, 'a string');
});
