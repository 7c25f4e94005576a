/**
 * Prepared (two-phase) transactions and the commit-safe horizon, through the real CLI. After
 * PREPARE TRANSACTION the transaction has left its session: pg_stat_activity no longer shows it, yet
 * it can still commit rows whose updated_at (its start) is older than rows committed meanwhile. The
 * horizon holds the checkpoint at the prepare time minus the lookback window, says so in the log,
 * and the rows arrive after COMMIT PREPARED. (The old horizon checkpointed past them: they were lost.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, duckIds, readCheckpoint, runOnce, runOnceCli, TestClients } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

describe('prepared transactions', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;
  const clients = new TestClients();
  const connect = () => clients.connect(url);
  const ids = () => duckIds(ws, 'orders');

  before(async () => {
    // Off by default (max_prepared_transactions = 0): a server of our own with it on.
    server = await startPostgres({ postgresFlags: ['-c', 'max_prepared_transactions=10'] });
    url = await server.createDatabase('two_phase');
    await server.query(
      url,
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
       CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON orders (updated_at, id);
       CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
       INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
    );
    ws = createWorkspace();
  });
  after(async () => {
    // A prepared transaction outlives its session: roll back any a failed test left behind.
    const left = await server?.query(url, `SELECT gid FROM pg_prepared_xacts WHERE database = current_database()`).catch(() => null);
    for (const row of left?.rows ?? []) await server.query(url, `ROLLBACK PREPARED '${row.gid}'`).catch(() => {});
    await clients.endAll();
    ws?.cleanup();
    await server?.stop();
  });

  test("a prepared transaction's rows are not lost: the checkpoint waits at prepare time - lookback, and says so", async () => {
    ws.writePipeline(
      'orders',
      'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\nhorizon:\n  lookback_seconds: 120\n',
    );
    await runOnce(ws, url, ['--only', 'orders']);
    assert.equal(readCheckpoint(ws, 'orders')?.position?.cursor, '2024-01-01 00:00:20+00');

    const twoPhase = await connect();
    await twoPhase.query('BEGIN');
    const t0 = (await twoPhase.query(`SET LOCAL TimeZone = 'UTC'; SELECT now()::text AS t`)) as unknown as pg.QueryResult[];
    const start = t0[1].rows[0].t as string;
    await twoPhase.query(`INSERT INTO orders (id, note) SELECT g, 'prepared' FROM generate_series(101, 110) AS g`);
    await twoPhase.query(`UPDATE orders SET note = 'prepared update' WHERE id = 3`);
    await new Promise((r) => setTimeout(r, 50));
    await twoPhase.query(`PREPARE TRANSACTION 'pgduck-test-1'`);
    // The session is idle now: nothing in pg_stat_activity says a transaction is pending.
    const open = await server.query(
      url,
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND datname = current_database()`,
    );
    assert.equal(open.rows[0].n, 0, 'no open transaction is visible in pg_stat_activity');
    // Committed after the prepared transaction started: newer updated_at.
    await server.query(url, `INSERT INTO orders (id, note) SELECT g, 'later' FROM generate_series(201, 210) AS g`);

    const run = await runOnceCli(ws, url, ['--only', 'orders']);
    const loaded = await ids();
    assert.ok(loaded.includes(201) && loaded.includes(210), 'rows committed meanwhile are loaded (fresh)');
    assert.ok(!loaded.includes(101), 'prepared rows are not visible yet');
    const cp = readCheckpoint(ws, 'orders')?.position?.cursor ?? '';
    assert.ok(cp < start, `checkpoint ${cp} must stay before the prepared transaction's start ${start}`);
    const said = run.stderr.split('\n').filter((l) => l.includes('prepared transaction'));
    assert.equal(said.length, 1, `said once, not per batch: ${run.stderr}`);
    assert.match(said[0], /pgduck-test-1/);
    assert.match(said[0], /lookback_seconds \(120 s\)/);

    // validate --connect says so while it is pending (a warning: nothing is wrong with the pipeline).
    const pending = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
    assert.equal(pending.code, 0, pending.stdout);
    assert.match(
      pending.stdout,
      /warning: orders: 1 prepared transaction \(PREPARE TRANSACTION\) pending in the database of postgres:\/\/postgres:\*\*\*\*@[^ ]+\/two_phase, the oldest \(gid "pgduck-test-1"\)/,
    );

    await server.query(url, `COMMIT PREPARED 'pgduck-test-1'`);
    const clear = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
    assert.doesNotMatch(clear.stdout, /prepared/);
    const done = await runOnceCli(ws, url, ['--only', 'orders']);
    assert.doesNotMatch(done.stderr, /prepared transaction/);
    const after = await ids();
    for (const id of [101, 105, 110, 201, 210]) assert.ok(after.includes(id), `row ${id} arrived`);
    const note = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT note FROM orders WHERE id = 3'), { readOnly: true });
    assert.deepEqual(note, [{ note: 'prepared update' }]);
    await assertVerified(ws, url, ['orders']);
  });
});
