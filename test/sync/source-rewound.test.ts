/**
 * A source that went back in time: a failover to a standby that had not replayed everything (or a
 * point-in-time restore) keeps the cluster's system_identifier, the database and the table's oid, so
 * it looked like the same source. Rows synced from the lost timeline stayed in DuckDB for good (and
 * a row's lost update stayed newer than the source's): every run reported success. Now the
 * timeline (and, on a primary, the WAL position) is part of the source's identity: the run stops
 * before reading (SOURCE_REWOUND, nothing written, the checkpoint unmoved), and `reset --drop-target`
 * rebuilds the table from the source as it now is. `on_recreate: rebootstrap` does not do it by itself:
 * every promotion counts, a switchover that lost nothing too, and a rebuild at each would drop rows
 * only DuckDB keeps (hard_delete_mode: mark; found by review).
 *
 * A real promotion: a streaming standby (test/support/standby.ts) cut from its primary
 * (primary_conninfo emptied), the primary written to and synced, then the standby promoted. And a
 * file-level copy put back (startCopy: the same timeline, an older WAL position).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { EmbeddedServer } from '../../src/postgres/embedded-server.js';
import { primaryWithDatabase, startCopy, startStandby, type Standby } from '../support/standby.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint, TestClients } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

async function duckRows(ws: Workspace): Promise<string[]> {
  const rows = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT id, note FROM orders ORDER BY id'), { readOnly: true });
  return rows.map((r) => `${r.id}:${r.note}`);
}

async function sourceRows(client: pg.Client): Promise<string[]> {
  return (await client.query<{ id: number; note: string }>('SELECT id, note FROM orders ORDER BY id')).rows.map((r) => `${r.id}:${r.note}`);
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a source that went back in time (failover to a standby that was behind)', () => {
  let primary: EmbeddedServer;
  let standby: Standby;
  let primaryUrl: string;
  let standbyUrl: string;
  const clients = new TestClients();
  const workspaces: Workspace[] = [];

  before(async () => {
    // A standby needs the primary's data directory: an embedded server of our own.
    ({ primary, url: primaryUrl } = await primaryWithDatabase('replicated'));
    const setup = await clients.connect(primaryUrl);
    await setup.query(
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
       CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
       CREATE INDEX ON orders (updated_at, id);
       CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
       INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
    );
    standby = await startStandby({ url: primary.url, dataDir: primary.dataDir });
    standbyUrl = standby.url('replicated');
    await standby.caughtUp();
  });
  after(async () => {
    await clients.endAll();
    for (const ws of workspaces) ws.cleanup();
    await standby?.stop();
    await primary?.stop();
  });

  test('the run stops before reading the promoted standby; reset --drop-target rebuilds from it; on_recreate: rebootstrap is refused too', async () => {
    const stopped = createWorkspace();
    const rebuilt = createWorkspace();
    workspaces.push(stopped, rebuilt);
    const file = (extra: string) =>
      `source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\n${extra}target:\n  table: orders\nbatch_size: 7\nhorizon:\n  lookback_seconds: 1\n`;
    stopped.writePipeline('orders', file(''));
    rebuilt.writePipeline('orders', file('  on_recreate: rebootstrap\n'));
    const run = async (ws: Workspace, url: string) => runCli(['run', '--once'], ws.env(url));

    for (const ws of [stopped, rebuilt]) {
      const first = await run(ws, primaryUrl);
      assert.equal(first.code, 0, first.stderr);
    }

    // Cut the standby from its primary: it keeps what it has replayed, and nothing more.
    const onStandby = await clients.connect(standby.url('postgres'));
    await onStandby.query(`ALTER SYSTEM SET primary_conninfo = ''`);
    await onStandby.query('SELECT pg_reload_conf()');
    await until('the standby to stop streaming', async () => (await onStandby.query('SELECT count(*)::int AS n FROM pg_stat_wal_receiver')).rows[0].n === 0);

    // Written on the primary only, and synced from it.
    const writer = await clients.connect(primaryUrl);
    await writer.query(`INSERT INTO orders (id, note) SELECT g, 'lost' FROM generate_series(21, 25) AS g`);
    await writer.query(`UPDATE orders SET note = 'lost update' WHERE id = 3`);
    for (const ws of [stopped, rebuilt]) {
      const synced = await run(ws, primaryUrl);
      assert.equal(synced.code, 0, synced.stderr);
      const rows = await duckRows(ws);
      assert.equal(rows.length, 25);
      assert.ok(rows.includes('3:lost update'));
    }

    // Failover: the standby, behind, becomes the primary (a new timeline); the writers move to it.
    await onStandby.query('SELECT pg_promote(true, 60)');
    const promoted = await clients.connect(standbyUrl);
    await until('the promotion', async () => (await promoted.query('SELECT pg_is_in_recovery() AS r')).rows[0].r === false);
    await promoted.query(`INSERT INTO orders (id, note) VALUES (30, 'after failover')`);
    await promoted.query(`UPDATE orders SET note = 'updated after failover' WHERE id = 4`);
    const source = await sourceRows(promoted);
    assert.equal(source.length, 21, 'the promoted standby never had rows 21–25');
    assert.ok(source.includes('3:old'));

    // Default: refused, nothing read or written, the checkpoint where it was.
    const before = readCheckpoint(stopped, 'orders');
    const refused = await run(stopped, standbyUrl);
    assert.equal(refused.code, 4, `needs action: ${refused.stderr}`);
    assert.match(refused.stderr, /SOURCE_REWOUND/);
    assert.match(refused.stderr, /timeline 2, was 1/);
    assert.match(refused.stderr, /pgduck reset orders --drop-target/);
    const progress = (c: ReturnType<typeof readCheckpoint>) =>
      c && { position: c.position, rowsTotal: c.rowsTotal, batchesTotal: c.batchesTotal, bootstrapDone: c.bootstrapDone, generation: c.generation };
    assert.ok(before?.position, 'a position to keep');
    assert.deepEqual(progress(readCheckpoint(stopped, 'orders')), progress(before), 'the checkpoint did not move');
    assert.match(readCheckpoint(stopped, 'orders')?.lastError ?? '', /SOURCE_REWOUND/, 'status shows why');
    const kept = await duckRows(stopped);
    assert.equal(kept.length, 25, 'nothing written');
    assert.ok(!kept.includes('30:after failover'));
    const again = await run(stopped, standbyUrl);
    assert.equal(again.code, 4, 'refused on every run until someone acts');

    const reset = await runCli(['reset', 'orders', '--drop-target'], stopped.env(standbyUrl));
    assert.equal(reset.code, 0, reset.stderr);
    const after = await run(stopped, standbyUrl);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(await duckRows(stopped), source, 'rebuilt from the promoted standby: rows 21–25 and the lost update gone');

    // on_recreate: rebootstrap is for tables re-created: a cluster gone back is refused all the same.
    const alone = await run(rebuilt, standbyUrl);
    assert.equal(alone.code, 4, alone.stderr);
    assert.match(alone.stderr, /SOURCE_REWOUND[\s\S]*timeline 2, was 1/);
    assert.equal((await duckRows(rebuilt)).length, 25, 'nothing dropped or written');
    const resetToo = await runCli(['reset', 'orders', '--drop-target'], rebuilt.env(standbyUrl));
    assert.equal(resetToo.code, 0, resetToo.stderr);
    assert.equal((await run(rebuilt, standbyUrl)).code, 0);
    assert.deepEqual(await duckRows(rebuilt), source);

    // And the next run on the new timeline is an ordinary incremental run.
    await promoted.query(`INSERT INTO orders (id, note) VALUES (31, 'later')`);
    for (const ws of [stopped, rebuilt]) {
      const next = await run(ws, standbyUrl);
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(await duckRows(ws), await sourceRows(promoted));
    }
  });
});

describe('a source put back to an older copy of itself (same timeline)', () => {
  let primary: EmbeddedServer;
  let copy: Standby;
  let primaryUrl: string;
  const clients = new TestClients();
  let ws: Workspace;

  before(async () => {
    ({ primary, url: primaryUrl } = await primaryWithDatabase('restored'));
    const setup = await clients.connect(primaryUrl);
    await setup.query(
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00');
       CREATE INDEX ON orders (updated_at, id);
       INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
    );
    // The snapshot taken now: 20 rows.
    copy = await startCopy({ url: primary.url, dataDir: primary.dataDir });
    ws = createWorkspace();
  });
  after(async () => {
    await clients.endAll();
    ws?.cleanup();
    await copy?.stop();
    await primary?.stop();
  });

  test('the run stops before reading the copy: its WAL position is behind the one the last run read at', async () => {
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\nbatch_size: 7\n');
    const writer = await clients.connect(primaryUrl);
    await writer.query(
      `INSERT INTO orders (id, note, updated_at) SELECT g, 'lost', '2024-02-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(21, 25) AS g`,
    );
    // Past the copy's end-of-recovery records, whatever their size: the next WAL segment.
    await writer.query('SELECT pg_switch_wal()');
    const synced = await runCli(['run', '--once'], ws.env(primaryUrl));
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal((await duckRows(ws)).length, 25);

    const copyUrl = copy.url('restored');
    const onCopy = await clients.connect(copyUrl);
    assert.equal((await sourceRows(onCopy)).length, 20, 'the copy predates rows 21–25');
    const refused = await runCli(['run', '--once'], ws.env(copyUrl));
    assert.equal(refused.code, 4, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /SOURCE_REWOUND/);
    assert.match(refused.stderr, /WAL position [0-9A-F]+\/[0-9A-F]+ is behind the [0-9A-F]+\/[0-9A-F]+ it had when the last run read it/);
    assert.equal((await duckRows(ws)).length, 25, 'nothing written');

    const reset = await runCli(['reset', 'orders', '--drop-target'], ws.env(copyUrl));
    assert.equal(reset.code, 0, reset.stderr);
    const rebuilt = await runCli(['run', '--once'], ws.env(copyUrl));
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.deepEqual(await duckRows(ws), await sourceRows(onCopy));
  });
});
