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
import { createWorkspace, runCli } from '../support/workspace.js';
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

test('validate --connect says where track_activities is off and prints the SQL that turns it back on', async () => {
  const url = await pgs.createDatabase('track_activities_validate');
  const database = new URL(url).pathname.slice(1);
  const writer = `pgduck_untracked_writer_${process.pid}`;
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON orders (updated_at, id);
       CREATE ROLE ${writer} LOGIN;`,
    );
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\n');
    const clean = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
    assert.equal(clean.code, 0, clean.stdout);
    assert.doesNotMatch(clean.stdout, /track_activities is off/);
    await pgs.query(url, `ALTER ROLE ${writer} IN DATABASE "${database}" SET track_activities = off`);
    // The role's setting is found before any of its sessions connects.
    const configured = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
    assert.match(
      configured.stdout,
      new RegExp(`warning: orders: track_activities is off for role "${writer}" in this database \\(ALTER ROLE … SET\\) \\(postgres://`),
    );
    assert.doesNotMatch(configured.stdout, /session of this database/);
    assert.match(configured.stdout, new RegExp(`\\n    ALTER ROLE "${writer}" IN DATABASE "${database}" RESET track_activities;\\n`));
    assert.equal(configured.code, 0, 'a warning: the pipeline still syncs (with the lookback window)');

    // A session with it off connected now is counted too.
    const late = await clients.connect(url);
    await late.query('SET track_activities = off');
    const connected = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
    assert.match(connected.stdout, /, and 1 session of this database runs with it off now \(postgres:/);
    assert.match(connected.stdout, /SELECT pid, usename, application_name FROM pg_stat_activity WHERE state = 'disabled';/);
    await late.query('SET track_activities = on');
    await late.query('SELECT 1'); // the next statement reports the session as tracked again

    // The printed fix, run as printed, clears the warning.
    await pgs.query(url, `ALTER ROLE "${writer}" IN DATABASE "${database}" RESET track_activities;`);
    const fixed = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.doesNotMatch(fixed.stdout, /track_activities is off|with it off/);
  } finally {
    await pgs.query(url, `DROP ROLE IF EXISTS ${writer}`).catch(() => {});
    ws.cleanup();
  }
});
