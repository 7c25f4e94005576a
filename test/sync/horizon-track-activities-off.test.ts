/**
 * The commit-safe horizon (rule 3) reads open transactions from pg_stat_activity.xact_start, which
 * Postgres fills only while `track_activities` is on for that session. With it off (server-wide in
 * postgresql.conf, per database or role with ALTER … SET, or per session by a superuser), an open
 * transaction was invisible: the horizon was now() - margin, a sync checkpointed past the
 * transaction's start, and its rows, committed afterwards with older cursors, were never read. Such
 * a session shows state 'disabled': while one is connected to the database the horizon now falls
 * back to the lookback window (src/postgres/horizon.ts, mode 'untracked').
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { duckIds, runOnce, TestClients } from '../support/sync-checks.js';

let pgs: TestPostgres;
const clients = new TestClients();
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await clients.endAll();
  await pgs?.stop();
});

test('a transaction of a session with track_activities off, committed after a sync: its rows reach DuckDB', async () => {
  const url = await pgs.createDatabase('track_activities_off');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON orders (updated_at, id);
       INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n');
    await runOnce(ws, url);

    const late = await clients.connect(url);
    await late.query(`SET track_activities = off`);
    await late.query('BEGIN');
    await late.query(`INSERT INTO orders (id, note) SELECT g, 'late' FROM generate_series(101, 105) AS g`);
    await new Promise((r) => setTimeout(r, 1200));
    await pgs.query(url, `INSERT INTO orders (id, note) SELECT g, 'early' FROM generate_series(201, 205) AS g`);
    await new Promise((r) => setTimeout(r, 1200));
    await runOnce(ws, url);
    await late.query('COMMIT');
    await runOnce(ws, url);

    const source = (await pgs.query(url, `SELECT array_agg(id ORDER BY id) AS ids FROM orders`)).rows[0].ids as number[];
    const target = await duckIds(ws, 'orders');
    assert.deepEqual(
      source.filter((id) => !target.includes(id)),
      [],
      'rows in Postgres that DuckDB lacks',
    );
  } finally {
    ws.cleanup();
  }
});
