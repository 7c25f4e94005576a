/**
 * State files written before the store was versioned (user_version 0, tables made by the old
 * `CREATE TABLE IF NOT EXISTS` + `PRAGMA table_info` probes) open, migrate once and keep their
 * checkpoints; a file from a newer pgduck is refused; reset is one transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { STATE_STORE_VERSION } from '../../src/state/migrate-state-store.js';

// The DDL of the store before this change, as the oldest released code wrote it (no base_type,
// pk_position or generation: those were added by table_info probes later).
const OLD_DDL = `
CREATE TABLE checkpoints (
  pipeline TEXT PRIMARY KEY, cursor TEXT, key_json TEXT, rows_total INTEGER NOT NULL DEFAULT 0,
  batches_total INTEGER NOT NULL DEFAULT 0, bootstrap_done INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL, last_status TEXT, last_error TEXT, last_run_at TEXT);
CREATE TABLE schema_events (id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE source_columns (pipeline TEXT NOT NULL, attnum INTEGER NOT NULL, name TEXT NOT NULL, pg_type TEXT NOT NULL, PRIMARY KEY (pipeline, attnum));
CREATE TABLE backfills (id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, reason TEXT NOT NULL, columns_json TEXT NOT NULL,
  key_json TEXT, rows_done INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, finished_at TEXT);
INSERT INTO checkpoints (pipeline, cursor, key_json, rows_total, batches_total, bootstrap_done, updated_at)
VALUES ('orders', '2026-01-01 00:00:00.000001+00', '["42"]', 100, 3, 1, '2026-01-01T00:00:00Z');
INSERT INTO source_columns VALUES ('orders', 1, 'id', 'integer');
INSERT INTO backfills (pipeline, reason, columns_json, created_at) VALUES ('orders', 'added', '[{"attnum":2,"name":"v"}]', '2026-01-01T00:00:00Z');`;

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-state-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const version = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } finally {
    db.close();
  }
};

test('a state file of the old schema opens, migrates to the current version and keeps its rows', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    const old = new Database(path);
    old.exec(OLD_DDL);
    old.close();
    assert.equal(version(path), 0);

    const store = new CheckpointStore(path);
    try {
      const cp = store.get('orders');
      assert.deepEqual(cp?.position, { cursor: '2026-01-01 00:00:00.000001+00', key: ['42'] });
      assert.equal(cp?.rowsTotal, 100);
      assert.equal(cp?.generation, 0);
      assert.deepEqual(store.sourceColumns('orders'), [{ attnum: 1, name: 'id', pgType: 'integer', baseType: null, pkPosition: null }]);
      assert.equal(store.pendingBackfills('orders').length, 1);
      assert.equal(store.sourceIdentity('orders'), null, 'no identity recorded before: the next run adopts one');
      store.saveSourceIdentity('orders', {
        systemId: '7',
        database: 'shop',
        tableOid: '16384',
        relfilenode: '16384',
        labels: null,
        timeline: null,
        walLsn: null,
      });
      assert.equal(store.sourceIdentity('orders')?.tableOid, '16384');
    } finally {
      store.close();
    }
    assert.equal(version(path), STATE_STORE_VERSION);
    // Opening again migrates nothing and loses nothing.
    const again = new CheckpointStore(path);
    try {
      assert.equal(again.get('orders')?.rowsTotal, 100);
      assert.equal(again.sourceIdentity('orders')?.database, 'shop');
      // reset: position, snapshot, pending backfills and identity go together.
      assert.equal(again.reset('orders'), true);
      assert.equal(again.get('orders')?.position, null);
      assert.deepEqual(again.sourceColumns('orders'), []);
      assert.deepEqual(again.pendingBackfills('orders'), []);
      assert.equal(again.sourceIdentity('orders'), null);
    } finally {
      again.close();
    }
  }));

test('a state file of the intermediate unversioned schema (probed columns present) migrates too', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    const old = new Database(path);
    old.exec(OLD_DDL);
    old.exec('ALTER TABLE source_columns ADD COLUMN base_type TEXT; ALTER TABLE source_columns ADD COLUMN pk_position INTEGER');
    old.exec('ALTER TABLE checkpoints ADD COLUMN generation INTEGER NOT NULL DEFAULT 0; UPDATE checkpoints SET generation = 4');
    old.close();
    const store = new CheckpointStore(path);
    try {
      assert.equal(store.get('orders')?.generation, 4);
    } finally {
      store.close();
    }
    assert.equal(version(path), STATE_STORE_VERSION);
  }));

test('a state file written by a newer pgduck is refused, untouched', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    const db = new Database(path);
    db.pragma(`user_version = ${STATE_STORE_VERSION + 1}`);
    db.close();
    assert.throws(() => new CheckpointStore(path), /schema version \d+, newer than this pgduck knows/);
    assert.equal(version(path), STATE_STORE_VERSION + 1);
  }));

// Changed with the review's fix (test/drift/rewrite-insert-missing.test.ts): the rewrite's re-read carried
// only the columns no pending backfill re-read, so it did not carry every column and inserted no missing row.
test('a rewrite records its re-read of every column and the new relfilenode together, superseding a pending rewrite re-read', () =>
  withDir((dir) => {
    const store = new CheckpointStore(join(dir, 'checkpoints.db'));
    try {
      const id = { systemId: '7', database: 'shop', tableOid: '1', relfilenode: '10', labels: null, timeline: null, walLsn: null };
      store.saveSourceIdentity('p', id);
      store.addBackfill('p', 'retyped', [{ attnum: 2, name: 'a' }]);
      const earlier = store.addBackfill('p', 'rewritten', [{ attnum: 3, name: 'b' }]);
      store.advanceBackfill(earlier, ['42'], 5);
      store.recordRewrite('p', { ...id, relfilenode: '11' }, [
        { attnum: 2, name: 'a' },
        { attnum: 3, name: 'b' },
      ]);
      assert.equal(store.sourceIdentity('p')?.relfilenode, '11');
      const pending = store.pendingBackfills('p');
      assert.deepEqual(
        pending.map((b) => [b.reason, b.columns.map((c) => c.name), b.position]),
        [
          ['retyped', ['a'], null],
          ['rewritten', ['a', 'b'], null],
        ],
      );
      assert.ok(!pending.some((b) => b.id === earlier), 'the earlier rewrite re-read is superseded');
      // A table of key and cursor only: a re-read with no column to fill (it inserts the rows the target lacks).
      store.recordRewrite('p', { ...id, relfilenode: '12' }, []);
      assert.deepEqual(
        store.pendingBackfills('p').map((b) => [b.reason, b.columns.length]),
        [
          ['retyped', 1],
          ['rewritten', 0],
        ],
      );
    } finally {
      store.close();
    }
  }));

test('a reconcile recorded at version 5 (before hard_delete_mode) reads back as removed, not stopped; marked and stopped round-trip', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    new CheckpointStore(path).close();
    const db = new Database(path);
    db.pragma('user_version = 5');
    db.exec(
      'ALTER TABLE reconciles DROP COLUMN marked; ALTER TABLE reconciles DROP COLUMN mode; ALTER TABLE reconciles DROP COLUMN stopped; ALTER TABLE checkpoints DROP COLUMN last_success_at; ALTER TABLE checkpoints DROP COLUMN position_on; ALTER TABLE checkpoints DROP COLUMN target;',
    );
    db.prepare(
      `INSERT INTO reconciles (pipeline, at, duration_ms, source_keys, target_keys, gone, removed, rows_read, error) VALUES ('orders', '2026-01-01T00:00:00Z', 5, 9, 10, 1, 1, 20, NULL)`,
    ).run();
    db.close();
    const store = new CheckpointStore(path);
    try {
      assert.equal(version(path), STATE_STORE_VERSION);
      const old = store.lastReconcile('orders');
      assert.deepEqual([old?.removed, old?.marked, old?.mode, old?.stopped], [1, 0, 'remove', false]);
      store.recordReconcile('orders', { ...old!, marked: 3, removed: 0, mode: 'mark', stopped: true });
      const now = store.lastReconcile('orders');
      assert.deepEqual([now?.removed, now?.marked, now?.mode, now?.stopped], [0, 3, 'mark', true]);
    } finally {
      store.close();
    }
  }));

test('the last success survives a failed run; a version-6 file takes it from its last run only when that one succeeded', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    new CheckpointStore(path).close();
    const db = new Database(path);
    db.pragma('user_version = 6');
    db.exec('ALTER TABLE checkpoints DROP COLUMN last_success_at; ALTER TABLE checkpoints DROP COLUMN position_on; ALTER TABLE checkpoints DROP COLUMN target');
    db.exec(`INSERT INTO checkpoints (pipeline, updated_at, last_status, last_run_at) VALUES
      ('ok_last', '2026-01-01T00:00:00Z', 'ok', '2026-01-01T00:00:00.000Z'),
      ('failed_last', '2026-01-01T00:00:00Z', 'failed', '2026-01-02T00:00:00.000Z')`);
    db.close();
    const store = new CheckpointStore(path);
    try {
      assert.equal(version(path), STATE_STORE_VERSION);
      assert.equal(store.get('ok_last')?.lastSuccessAt, '2026-01-01T00:00:00.000Z');
      assert.equal(store.get('failed_last')?.lastSuccessAt, null);
      store.recordRun('fresh', 'ok');
      const success = store.get('fresh')?.lastSuccessAt;
      assert.ok(success);
      assert.equal(store.get('fresh')?.lastRunAt, success);
      store.recordRun('fresh', 'failed', 'connection refused');
      const after = store.get('fresh');
      assert.equal(after?.lastStatus, 'failed');
      assert.equal(after?.lastSuccessAt, success, 'a failed run leaves the last success');
      store.recordRun('never', 'failed', 'password authentication failed');
      assert.equal(store.get('never')?.lastSuccessAt, null);
    } finally {
      store.close();
    }
  }));

test('a version-8 file keeps its positions, recorded on no columns (checked by length only), until the next batch records them', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    new CheckpointStore(path).close();
    const db = new Database(path);
    db.pragma('user_version = 8');
    db.exec('ALTER TABLE checkpoints DROP COLUMN position_on; ALTER TABLE checkpoints DROP COLUMN target');
    db.exec(`INSERT INTO checkpoints (pipeline, cursor, key_json, updated_at) VALUES ('orders', '2026-01-01 00:00:00+00', '["5"]', '2026-01-01T00:00:00Z')`);
    db.close();
    const store = new CheckpointStore(path);
    try {
      assert.equal(version(path), STATE_STORE_VERSION);
      assert.deepEqual(store.get('orders')?.position, { cursor: '2026-01-01 00:00:00+00', key: ['5'] });
      assert.equal(store.get('orders')?.positionOn, null);
      // A batch with no safe position keeps the old one, and the columns it was (not) recorded on.
      store.advance('orders', { position: null, rows: 3, on: { cursor: 'updated_at', key: ['id'] } });
      assert.equal(store.get('orders')?.positionOn, null);
      store.advance('orders', { position: { cursor: '2026-01-02 00:00:00+00', key: ['9'] }, rows: 1, on: { cursor: 'updated_at', key: ['id'] } });
      assert.deepEqual(store.get('orders')?.positionOn, { cursor: 'updated_at', key: ['id'] });
      store.reset('orders');
      assert.equal(store.get('orders')?.positionOn, null, 'reset forgets them with the position');
    } finally {
      store.close();
    }
  }));

test('a version-9 file keeps its checkpoints, their target unrecorded (not checked), until the next batch records it', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    new CheckpointStore(path).close();
    const db = new Database(path);
    db.pragma('user_version = 9');
    db.exec('ALTER TABLE checkpoints DROP COLUMN target');
    db.exec(
      `INSERT INTO checkpoints (pipeline, cursor, key_json, rows_total, updated_at) VALUES ('orders', '2026-01-01 00:00:00+00', '["5"]', 5, '2026-01-01T00:00:00Z')`,
    );
    db.close();
    const store = new CheckpointStore(path);
    try {
      assert.equal(version(path), STATE_STORE_VERSION);
      assert.equal(store.get('orders')?.target, null);
      assert.equal(store.get('orders')?.rowsTotal, 5);
      store.advance('orders', { position: null, rows: 1, target: 't1' });
      assert.equal(store.get('orders')?.target, 't1');
      store.advance('orders', { position: null, rows: 1 });
      assert.equal(store.get('orders')?.target, 't1', 'a write that names no target keeps the recorded one');
      store.reset('orders');
      assert.equal(store.get('orders')?.target, null, 'reset forgets it with the position');
      store.markBootstrapDone('orders', 1, 't2');
      assert.equal(store.get('orders')?.target, 't2');
    } finally {
      store.close();
    }
  }));

test('a version-10 file keeps its source identities, their enum labels unrecorded (adopted by the next run), then records them', () =>
  withDir((dir) => {
    const path = join(dir, 'checkpoints.db');
    new CheckpointStore(path).close();
    const db = new Database(path);
    db.pragma('user_version = 10');
    db.exec('ALTER TABLE source_identity DROP COLUMN labels');
    db.exec(
      `INSERT INTO source_identity (pipeline, system_id, database, table_oid, relfilenode, recorded_at) VALUES ('plans', '7', 'shop', '1', '10', '2026-01-01T00:00:00Z')`,
    );
    db.close();
    const store = new CheckpointStore(path);
    try {
      assert.equal(version(path), STATE_STORE_VERSION);
      assert.deepEqual(store.sourceIdentity('plans') && { ...store.sourceIdentity('plans'), recordedAt: undefined }, {
        systemId: '7',
        database: 'shop',
        tableOid: '1',
        relfilenode: '10',
        labels: null,
        timeline: null,
        walLsn: null,
        recordedAt: undefined,
      });
      store.saveSourceIdentity('plans', {
        systemId: '7',
        database: 'shop',
        tableOid: '1',
        relfilenode: '10',
        labels: '{"16390": "pro"}',
        timeline: null,
        walLsn: null,
      });
      assert.equal(store.sourceIdentity('plans')?.labels, '{"16390": "pro"}');
    } finally {
      store.close();
    }
  }));
