/**
 * Each driver's classifier on the errors its driver really throws: pg's own DatabaseError class and a
 * real refused socket; DuckDB and SQLite errors produced by actually triggering them against temp
 * files (a lock held by another process, a write to a full device, a memory limit, a file that is no
 * database). No database server is needed.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Database from 'better-sqlite3';
import { DuckDBInstance } from '@duckdb/node-api';
import { classifyPostgresError } from '../../src/postgres/classify-postgres-error.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { classifyDuckDbError } from '../../src/duckdb/classify-duckdb-error.js';
import { Lake } from '../../src/duckdb/lake.js';
import { classifySqliteError } from '../../src/state/classify-sqlite-error.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { classifyFailure } from '../../src/runner/classify-failure.js';
import { PgduckError } from '../../src/errors/pgduck-error.js';
import { holdDuckDbLock } from '../support/lock-holder.js';

/** pg's own error class, as its protocol parser builds it from an ErrorResponse. */
function databaseError(message: string, code: string): pg.DatabaseError {
  const err = new pg.DatabaseError(message, message.length, 'error');
  err.code = code;
  err.severity = 'ERROR';
  return err;
}

const kindOf = (e: PgduckError | null) => (e ? [e.kind, e.code] : null);

describe('Postgres errors', () => {
  test('SQLSTATE codes on pg.DatabaseError sort into kinds', () => {
    const cases: [string, string, [string, string] | null][] = [
      ['terminating connection due to administrator command', '57P01', ['transient', 'PG_CONNECTION_LOST']],
      ['connection failure', '08006', ['transient', 'PG_CONNECTION_LOST']],
      ['the database system is starting up', '57P03', ['transient', 'PG_STARTING']],
      ['could not serialize access due to concurrent update', '40001', ['transient', 'PG_SERIALIZATION']],
      ['canceling statement due to statement timeout', '57014', ['transient', 'PG_TIMEOUT']],
      ['sorry, too many clients already', '53300', ['transient', 'PG_TOO_MANY_CONNECTIONS']],
      ['password authentication failed for user "app"', '28P01', ['config', 'AUTH_FAILED']],
      ['no pg_hba.conf entry for host', '28000', ['config', 'AUTH_FAILED']],
      ['database "nope" does not exist', '3D000', ['config', 'DATABASE_MISSING']],
      ['relation "public.orders" does not exist', '42P01', ['needs-action', 'SOURCE_TABLE_MISSING']],
      ['column "updated_at" does not exist', '42703', ['needs-action', 'SOURCE_COLUMN_MISSING']],
      ['permission denied for table orders', '42501', ['needs-action', 'PERMISSION_DENIED']],
      ['division by zero', '22012', null],
    ];
    for (const [message, code, expected] of cases) {
      const err = databaseError(message, code);
      assert.ok(err instanceof pg.DatabaseError);
      assert.deepEqual(kindOf(classifyPostgresError(err)), expected, `${code} ${message}`);
    }
    const lost = classifyPostgresError(databaseError('terminating connection due to administrator command', '57P01'), 'cannot read columns of public.t');
    assert.equal(lost?.message, 'the connection to Postgres was lost (cannot read columns of public.t)');
    assert.ok(lost?.fix);
  });

  test('a refused connection (a real socket) is transient; a malformed connection string is config', async () => {
    const socket = await new pg.Client({ connectionString: 'postgres://u:secret@127.0.0.1:1/d' }).connect().then(
      () => null,
      (e: unknown) => e,
    );
    assert.equal((socket as { code?: string }).code, 'ECONNREFUSED');
    assert.deepEqual(kindOf(classifyPostgresError(socket)), ['transient', 'PG_UNREACHABLE']);
    // Through pgduck's own connect: classified at the boundary, the password never in the message.
    const refused = await connectPostgres('postgres://u:secret@127.0.0.1:1/d').then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(refused instanceof PgduckError);
    assert.deepEqual([refused.kind, refused.code], ['transient', 'PG_UNREACHABLE']);
    assert.match(refused.message, /^cannot connect to Postgres at postgres:\/\/u:\*\*\*\*@127\.0\.0\.1:1\/d: .*ECONNREFUSED/);
    assert.doesNotMatch(refused.message, /secret/);
    const malformed = await connectPostgres('postgres://u:p@host:notaport/d').then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(malformed instanceof PgduckError, String(malformed));
    assert.deepEqual([malformed.kind, malformed.code], ['config', 'CONNECTION_STRING_INVALID']);
  });
});

describe('DuckDB errors, triggered for real', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgduck-classify-duckdb-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a file locked by another process: transient DUCKDB_LOCKED, naming the holder', async () => {
    const file = join(dir, 'locked.duckdb');
    const holder = await holdDuckDbLock(file);
    const lake = new Lake();
    try {
      const err = await lake
        .withSession(file, async () => null)
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(err, 'opening a locked file fails');
      const classified = classifyFailure(err);
      assert.deepEqual([classified.kind, classified.code], ['transient', 'DUCKDB_LOCKED']);
      assert.match(classified.message, new RegExp(`is locked by another process \\(node, PID ${holder.pid}\\)`));
    } finally {
      await lake.close();
      await holder.release();
    }
  });

  test('a write to a full device (the WAL on /dev/full): needs-action DISK_FULL', async (t) => {
    if (!existsSync('/dev/full')) return t.skip('no /dev/full here');
    const file = join(dir, 'full.duckdb');
    const setup = await DuckDBInstance.create(file);
    const c = await setup.connect();
    await c.run('CREATE TABLE t (x INTEGER)');
    c.closeSync();
    setup.closeSync();
    symlinkSync('/dev/full', `${file}.wal`);
    const instance = await DuckDBInstance.create(file);
    const conn = await instance.connect();
    try {
      const err = await conn.run('INSERT INTO t SELECT range FROM range(1000)').then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err, 'the write fails');
      assert.deepEqual(kindOf(classifyDuckDbError(err)), ['needs-action', 'DISK_FULL']);
    } finally {
      conn.closeSync();
      instance.closeSync();
      rmSync(`${file}.wal`, { force: true });
    }
  });

  test('a memory limit too small for the query: needs-action DUCKDB_OUT_OF_MEMORY; an unreadable path: DUCKDB_IO', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run("SET memory_limit = '2MB'");
      const oom = await conn.run("SELECT count(*) FROM (SELECT range::VARCHAR || repeat('x', 100) AS s FROM range(3000000) ORDER BY s)").then(
        () => null,
        (e: unknown) => e,
      );
      assert.deepEqual(kindOf(classifyDuckDbError(oom)), ['needs-action', 'DUCKDB_OUT_OF_MEMORY']);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
    const io = await DuckDBInstance.create(dir).then(
      () => null,
      (e: unknown) => e,
    );
    assert.deepEqual(kindOf(classifyDuckDbError(io)), ['needs-action', 'DUCKDB_IO']);
    assert.equal(classifyDuckDbError(new Error('Binder Error: Referenced column "x" not found')), null);
  });
});

describe('SQLite errors, triggered for real', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgduck-classify-sqlite-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a store locked by another writer: transient STATE_LOCKED', () => {
    const path = join(dir, 'busy.db');
    const holder = new Database(path);
    holder.exec('CREATE TABLE t (x)');
    const other = new Database(path, { timeout: 0 });
    try {
      holder.exec('BEGIN EXCLUSIVE');
      const err = (() => {
        try {
          other.prepare('INSERT INTO t VALUES (1)').run();
          return null;
        } catch (e) {
          return e;
        }
      })();
      assert.equal((err as { code?: string }).code, 'SQLITE_BUSY');
      assert.deepEqual(kindOf(classifySqliteError(err)), ['transient', 'STATE_LOCKED']);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      other.close();
    }
  });

  test('a full database (max_page_count): needs-action DISK_FULL, also through the store wrapper', () => {
    const db = new Database(join(dir, 'full.db'));
    try {
      db.exec('CREATE TABLE t (x)');
      db.pragma('max_page_count = 3');
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      const err = (() => {
        try {
          for (let i = 0; i < 1000; i++) insert.run('y'.repeat(1000));
          return null;
        } catch (e) {
          return e;
        }
      })();
      assert.deepEqual(kindOf(classifySqliteError(err)), ['needs-action', 'DISK_FULL']);
      const wrapped = classifyFailure(new Error('cannot write the checkpoint of a to s/checkpoints.db: database or disk is full', { cause: err }));
      assert.deepEqual([wrapped.kind, wrapped.code], ['needs-action', 'DISK_FULL']);
    } finally {
      db.close();
    }
  });

  test('a file that is no database: needs-action STATE_CORRUPT; a directory in its place: config STATE_CANTOPEN', () => {
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'x'.repeat(5000));
    const notADb = (() => {
      try {
        new CheckpointStore(junk).close();
        return null;
      } catch (e) {
        return e;
      }
    })();
    assert.ok(notADb, 'opening junk as the state store fails');
    assert.deepEqual(kindOf(classifyFailure(notADb)), ['needs-action', 'STATE_CORRUPT']);
    const cantOpen = (() => {
      try {
        new Database(dir).prepare('SELECT 1').get();
        return null;
      } catch (e) {
        return e;
      }
    })();
    assert.deepEqual(kindOf(classifySqliteError(cantOpen)), ['config', 'STATE_CANTOPEN']);
    assert.equal(classifySqliteError(new Error('not sqlite')), null);
  });
});

test("a value pgduck's own cast refuses (DuckDB's error() in the load SQL): needs-action VALUE_REFUSED", async () => {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const err = await conn.run(`SELECT CASE WHEN 'NaN' = 'NaN' THEN error('pgduck: column "p": numeric NaN has no DECIMAL(8,2) value') END`).then(
      () => null,
      (e: unknown) => e,
    );
    assert.deepEqual(kindOf(classifyDuckDbError(err)), ['needs-action', 'VALUE_REFUSED']);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
});
