/** The failure wording, without a database: each recognised cause is named, anything else kept as it is. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainFailure } from '../../src/runner/explain-failure.js';
import { parseLockConflict } from '../../src/duckdb/lock-conflict.js';
import { isConnectionLost } from '../../src/postgres/connection-lost.js';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a lost connection is recognised by SQLSTATE, by socket error and by what pg says', () => {
  for (const err of [
    coded('terminating connection due to administrator command', '57P01'),
    coded('the database system is shutting down', '57P03'),
    coded('read ECONNRESET', 'ECONNRESET'),
    new Error('Connection terminated unexpectedly'),
    new Error('Client has encountered a connection error and is not queryable'),
  ]) {
    assert.equal(isConnectionLost(err), true, err.message);
  }
  assert.equal(isConnectionLost(coded('relation "x" does not exist', '42P01')), false);
  const wrapped = new Error('cannot read columns of public.t', { cause: coded('terminating connection due to administrator command', '57P01') });
  assert.equal(explainFailure(wrapped), 'the connection to Postgres was lost (cannot read columns of public.t)');
  const connect = new Error('cannot connect to Postgres at postgres://a:****@h/d: the database system is shutting down', { cause: coded('the database system is shutting down', '57P03') });
  assert.equal(explainFailure(connect), connect.message, 'a failed connect is not a lost connection');
});

test('a full disk is named whatever reported it; the message keeps where it happened', () => {
  const fs = new Error('cannot write Parquet file p/1.parquet: ENOSPC: no space left on device, write', { cause: coded('ENOSPC: no space left on device, write', 'ENOSPC') });
  assert.match(explainFailure(fs), /^the disk is full: cannot write Parquet file p\/1\.parquet: .*; free some space, then run again$/);
  const sqlite = new Error('cannot write the checkpoint of a to s/checkpoints.db: database or disk is full', { cause: coded('database or disk is full', 'SQLITE_FULL') });
  assert.match(explainFailure(sqlite), /^the disk is full: cannot write the checkpoint of a to s\/checkpoints\.db/);
  assert.match(explainFailure(new Error('IO Error: Could not write file "/l/w.duckdb.wal": No space left on device')), /^the disk is full: IO Error/);
});

test('a DuckDB lock names the file and the holder when DuckDB does', () => {
  const text = 'IO Error: Could not set lock on file "/l/w.duckdb": Conflicting lock is held in /usr/local/bin/duckdb (PID 4242) by user ann. See also https://duckdb.org/docs/stable/connect/concurrency';
  assert.deepEqual(parseLockConflict(text), { file: '/l/w.duckdb', program: 'duckdb', pid: 4242 });
  assert.match(explainFailure(new Error(`cannot open DuckDB file /l/w.duckdb: ${text}`)), /^the DuckDB file \/l\/w\.duckdb is locked by another process \(duckdb, PID 4242\): close it there/);
  assert.match(explainFailure(new Error('IO Error: Could not set lock on file "/l/w.duckdb"')), /^the DuckDB file \/l\/w\.duckdb is locked by another process: /);
  assert.equal(parseLockConflict('IO Error: Cannot open file "/l/w.duckdb": Permission denied'), null);
});

test('any other failure keeps its own message', () => {
  assert.equal(explainFailure(new Error('source table public.x does not exist (or this role cannot see it)')), 'source table public.x does not exist (or this role cannot see it)');
  assert.equal(explainFailure('a string'), 'a string');
});
