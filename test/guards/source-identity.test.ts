/**
 * The source's identity: a workspace synced from one cluster, database or table is never silently
 * filled from another. DATABASE_URL pointed at a second cluster holding the same table, or the table
 * dropped and re-created: the run stops before reading, says what changed and what to run, and the
 * DuckDB rows and the checkpoint stay as they were. A pipeline checkpointed before identities were
 * recorded adopts the current one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

const itemsSql = (n: number, label: string) => `
CREATE TABLE items (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour');
CREATE INDEX items_updated_at_id ON items (updated_at, id);
INSERT INTO items (id, v) SELECT g, '${label}' || g FROM generate_series(1, ${n}) g;`;

const PIPELINE = 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\nbatch_size: 7\n';

const duckRows = (ws: Workspace) =>
  withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT count(*)::INT AS n, string_agg(v, ',' ORDER BY id) AS vs FROM items`), { readOnly: true });

/** The database a URL names (on the shared server, createDatabase's name plus this process's suffix). */
const dbName = (url: string) => new URL(url).pathname.slice(1);

function store<T>(ws: Workspace, fn: (s: CheckpointStore) => T): T {
  const s = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

describe('source identity', () => {
  let first: TestPostgres;
  let second: TestPostgres;
  before(async () => {
    // Two clusters, two system identifiers: the run's shared server and an embedded one of this file's own
    // (an empty flag list never reuses the shared or an external server).
    [first, second] = await Promise.all([startPostgres(), startPostgres({ postgresFlags: [] })]);
  });
  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  test('another cluster with the same database and table: refused, DuckDB rows and checkpoint unchanged; reset --drop-target rebuilds', async () => {
    const a = await first.createDatabase('shop');
    // The same database name on the other cluster (the shared server's names carry a suffix; an own server keeps a name as given).
    const b = await second.createDatabase(dbName(a));
    await first.query(a, itemsSql(20, 'a'));
    await second.query(b, itemsSql(5, 'b'));
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', PIPELINE);
      // The syncs that must succeed run in this process (runOnce); the refused ones through the CLI (exit 4, the line printed).
      await runOnce(ws, a);
      const synced = await duckRows(ws);
      assert.equal(synced[0].n, 20);
      const before = store(ws, (s) => s.get('items'));

      for (let i = 0; i < 2; i++) {
        const res = await runCli(['run', '--once'], ws.env(b));
        assert.equal(res.code, 4, res.stdout + res.stderr);
        assert.match(
          res.stdout,
          /✗ items: .*the source of items changed since it was last synced: the connection now reaches another Postgres cluster \(system_identifier \d+, was \d+\)/,
        );
        assert.match(res.stdout, /nothing was read or written and the checkpoint did not move.*pgduck reset items --drop-target/);
        assert.deepEqual(await duckRows(ws), synced, 'DuckDB keeps the first cluster rows only');
        const cp = store(ws, (s) => s.get('items'));
        assert.deepEqual(cp?.position, before?.position);
        assert.equal(cp?.rowsTotal, before?.rowsTotal);
      }
      // Back on the first cluster: syncs as before.
      await runOnce(ws, a);

      const reset = await runCli(['reset', 'items', '--drop-target'], ws.env(b));
      assert.equal(reset.code, 0, reset.stdout + reset.stderr);
      await runOnce(ws, b);
      assert.deepEqual(await duckRows(ws), [{ n: 5, vs: 'b1,b2,b3,b4,b5' }]);
    } finally {
      ws.cleanup();
    }
  });

  test('the table dropped and re-created: refused with both oids', async () => {
    const url = await first.createDatabase('recreated');
    await first.query(url, itemsSql(10, 'old'));
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', PIPELINE);
      await runOnce(ws, url);
      const synced = await duckRows(ws);
      await first.query(url, `DROP TABLE items; ${itemsSql(3, 'new')}`);
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.match(
        res.stdout,
        /✗ items: .*"public"\."items" was dropped and re-created, or its database restored \(table oid \d+, was \d+\).*pgduck reset items --drop-target/,
      );
      assert.deepEqual(await duckRows(ws), synced);
    } finally {
      ws.cleanup();
    }
  });

  test('on_recreate: rebootstrap: the re-created table replaces the old rows, logged and recorded; another cluster is still refused', async () => {
    const url = await first.createDatabase('rebootstrap');
    await first.query(url, itemsSql(10, 'old'));
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', PIPELINE.replace('  primary_key: id\n', '  primary_key: id\n  on_recreate: rebootstrap\n'));
      await runOnce(ws, url);
      const generation = store(ws, (s) => s.get('items')?.generation ?? -1);
      await first.query(url, `DROP TABLE items; ${itemsSql(3, 'new')}`);
      // In this process: runOnce returns the run's logs as the CLI writes them on stderr (JSON lines).
      const rebuilt = await runOnce(ws, url);
      assert.match(rebuilt.stderr, /items\W{0,3} was dropped and re-created.*on_recreate is rebootstrap, so DuckDB table items was dropped/);
      assert.deepEqual(await duckRows(ws), [{ n: 3, vs: 'new1,new2,new3' }], 'only the new table rows');
      const cp = store(ws, (s) => s.get('items'));
      assert.equal(cp?.rowsTotal, 3);
      assert.equal(cp?.bootstrapDone, true);
      assert.equal(cp?.generation, generation + 1);
      assert.match(store(ws, (s) => s.schemaEvents('items')).at(-1)?.detail ?? '', /dropped and bootstrapped again \(on_recreate: rebootstrap\)/);
      // The new table's identity is recorded: the next run is an ordinary incremental one.
      await first.query(url, `UPDATE items SET v = 'newer', updated_at = clock_timestamp() WHERE id = 2`);
      await runOnce(ws, url);
      assert.deepEqual(await duckRows(ws), [{ n: 3, vs: 'new1,newer,new3' }]);

      // Another cluster is never rebuilt from, whatever on_recreate says.
      const other = await second.createDatabase(dbName(url));
      await second.query(other, itemsSql(2, 'other'));
      const res = await runCli(['run', '--once'], ws.env(other));
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.match(res.stdout, /another Postgres cluster/);
      assert.deepEqual(await duckRows(ws), [{ n: 3, vs: 'new1,newer,new3' }]);
    } finally {
      ws.cleanup();
    }
  });

  test('a checkpoint without a recorded identity (written before it existed) adopts the current one', async () => {
    const url = await first.createDatabase('adopt');
    await first.query(url, itemsSql(4, 'x'));
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', PIPELINE);
      await runOnce(ws, url);
      const db = new Database(join(ws.stateDir, 'checkpoints.db'));
      db.exec('DELETE FROM source_identity');
      db.close();
      await first.query(url, `UPDATE items SET v = 'y', updated_at = clock_timestamp() WHERE id = 2`);
      await runOnce(ws, url);
      assert.deepEqual(await duckRows(ws), [{ n: 4, vs: 'x1,y,x3,x4' }]);
      const id = store(ws, (s) => s.sourceIdentity('items'));
      assert.equal(id?.database, dbName(url));
      assert.match(id?.systemId ?? '', /^\d+$/);
      assert.equal(id?.timeline, '1', "the cluster's timeline");
      assert.match(id?.walLsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/, 'the WAL position the last run began reading at');
    } finally {
      ws.cleanup();
    }
  });

  test('the timeline and WAL position unavailable to the role (a function revoked, as managed services do): runs go on, recording neither', async () => {
    const url = await first.createDatabase('no_wal_functions');
    await first.query(url, itemsSql(4, 'x'));
    const role = `pgduck_plain_${process.pid}`;
    await first.query(url, `CREATE ROLE ${role} LOGIN PASSWORD 'plain'`);
    await first.query(url, `GRANT SELECT ON items TO ${role}; REVOKE EXECUTE ON FUNCTION pg_catalog.pg_walfile_name(pg_lsn) FROM PUBLIC`);
    const asRole = new URL(url);
    asRole.username = role;
    asRole.password = 'plain';
    const ws = createWorkspace();
    try {
      ws.writePipeline('items', PIPELINE);
      await runOnce(ws, asRole.toString());
      await first.query(url, `UPDATE items SET v = 'y', updated_at = clock_timestamp() WHERE id = 2`);
      await runOnce(ws, asRole.toString());
      assert.deepEqual(await duckRows(ws), [{ n: 4, vs: 'x1,y,x3,x4' }]);
      const id = store(ws, (s) => s.sourceIdentity('items'));
      assert.deepEqual([id?.database, id?.timeline, id?.walLsn], [dbName(url), null, null]);
    } finally {
      ws.cleanup();
      await first.query(url, `DROP OWNED BY ${role}`).catch(() => {});
      await first.query(first.url, `DROP ROLE IF EXISTS ${role}`).catch(() => {});
    }
  });
});
