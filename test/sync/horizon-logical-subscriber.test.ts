/**
 * The source is a logical-replication subscriber, a common place to read analytics from. A publisher
 * transaction that starts at t0 and commits later reaches the subscriber only at its commit,
 * carrying updated_at = t0 (the publisher's now()). Nothing of it is in the subscriber's
 * pg_stat_activity while it runs (the apply worker opens its transaction only when the commit
 * arrives), so the horizon (rule 3) used not to hold the checkpoint back: a sync in between
 * checkpointed past t0, and the late rows, applied after it with a cursor below the checkpoint, were
 * never read while the run reported success. A database with a subscription now falls back to the
 * lookback window (src/postgres/horizon.ts, mode 'subscriber'), as a physical standby does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds, readCheckpoint, runOnce, TestClients } from '../support/sync-checks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('logical-replication subscriber as the source', () => {
  let server: TestPostgres;
  let pubUrl: string;
  let subUrl: string;
  let ws: Workspace;
  const clients = new TestClients();

  const TABLE = `
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
    CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX ON orders (updated_at, id);
    CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();`;

  const waitOnSubscriber = async (sql: string, what: string) => {
    for (let i = 0; i < 200; i++) {
      if ((await server.query(subUrl, sql)).rows[0].ok === true) return;
      await sleep(50);
    }
    throw new Error(`timed out waiting for the subscriber: ${what}`);
  };

  before(async () => {
    server = await startPostgres({ postgresFlags: ['-c', 'wal_level=logical'] });
    pubUrl = await server.createDatabase('pub');
    subUrl = await server.createDatabase('sub');
    await server.query(pubUrl, TABLE);
    await server.query(
      pubUrl,
      `INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g`,
    );
    await server.query(pubUrl, `CREATE PUBLICATION p FOR TABLE orders`);
    await server.query(pubUrl, `SELECT pg_create_logical_replication_slot('s1', 'pgoutput')`);
    await server.query(subUrl, TABLE);
    // Same cluster: the slot is made beforehand (CREATE SUBSCRIPTION would wait on itself otherwise).
    await server.query(subUrl, `CREATE SUBSCRIPTION s1 CONNECTION '${pubUrl}' PUBLICATION p WITH (create_slot = false, slot_name = 's1')`);
    await waitOnSubscriber(`SELECT count(*) = 20 AS ok FROM orders`, 'initial copy');
    ws = createWorkspace();
  });
  after(async () => {
    await clients.endAll();
    await server?.query(subUrl, `ALTER SUBSCRIPTION s1 DISABLE`).catch(() => {});
    await server?.query(subUrl, `ALTER SUBSCRIPTION s1 SET (slot_name = NONE)`).catch(() => {});
    await server?.query(subUrl, `DROP SUBSCRIPTION s1`).catch(() => {});
    await server?.query(pubUrl, `SELECT pg_drop_replication_slot('s1')`).catch(() => {});
    ws?.cleanup();
    await server?.stop();
  });

  test('a publisher transaction committed after a sync: its rows reach DuckDB', async () => {
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n');
    await runOnce(ws, subUrl, ['--only', 'orders']);
    assert.equal((await duckIds(ws, 'orders')).length, 20);

    // On the publisher: a transaction open across the next sync (its rows carry its start time).
    const late = await clients.connect(pubUrl);
    await late.query('BEGIN');
    await late.query(`INSERT INTO orders (id, note) SELECT g, 'late' FROM generate_series(101, 105) AS g`);
    await sleep(1200);
    // Committed meanwhile on the publisher, replicated at once.
    await server.query(pubUrl, `INSERT INTO orders (id, note) SELECT g, 'early' FROM generate_series(201, 205) AS g`);
    await waitOnSubscriber(`SELECT count(*) = 25 AS ok FROM orders`, 'rows 201-205');
    await sleep(1200); // past the default 1 s margin

    await runOnce(ws, subUrl, ['--only', 'orders']);
    assert.ok((await duckIds(ws, 'orders')).includes(205), 'the committed rows are loaded');
    const checkpoint = readCheckpoint(ws, 'orders')?.position?.cursor;

    await late.query('COMMIT');
    await waitOnSubscriber(`SELECT count(*) = 30 AS ok FROM orders`, 'rows 101-105');
    await runOnce(ws, subUrl, ['--only', 'orders']);

    const source = (await server.query(subUrl, `SELECT array_agg(id ORDER BY id) AS ids FROM orders`)).rows[0].ids as number[];
    const target = await duckIds(ws, 'orders');
    const missing = source.filter((id) => !target.includes(id));
    assert.deepEqual(missing, [], `rows in the subscriber's table but not in DuckDB (checkpoint after the second sync: ${checkpoint})`);
  });

  test('validate --connect says the database is a subscriber (a warning); against the publisher it does not', async () => {
    const onSubscriber = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(subUrl));
    assert.equal(onSubscriber.code, 0, onSubscriber.stdout);
    assert.match(
      onSubscriber.stdout,
      /warning: orders: the database of postgres:\/\/postgres:\*\*\*\*@[^ ]+\/sub[^ ]* is a logical-replication subscriber \(1 subscription in pg_subscription\)/,
    );
    assert.match(onSubscriber.stdout, /falls back to re-reading horizon\.lookback_seconds/);
    const json = await runCli(['validate', '--connect', '--json', ws.pipelinesDir], ws.env(subUrl));
    const findings = (JSON.parse(json.stdout) as { live: { findings: { check: string; severity: string }[] } }).live.findings;
    assert.deepEqual(
      findings.filter((f) => f.check === 'subscriber').map((f) => f.severity),
      ['warning'],
    );
    const onPublisher = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(pubUrl));
    assert.equal(onPublisher.code, 0, onPublisher.stdout);
    assert.doesNotMatch(onPublisher.stdout, /subscriber/);
  });
});
