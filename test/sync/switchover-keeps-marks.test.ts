/**
 * Found by review of the source-rewound change: `on_recreate: rebootstrap` (for tables dropped and
 * re-created) also dropped and rebuilt the DuckDB table at every promotion, a switchover that lost
 * nothing included: under hard_delete_mode: mark the rows marked live only in DuckDB, and a routine
 * failover dropped them, run ok. A cluster gone back in time is now always refused (SOURCE_REWOUND):
 * nothing dropped, the marks kept, `reset --drop-target` is the user's to run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/postgres/embedded-server.js';
import { startStandby, type Standby } from '../support/standby.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { reconcileOnce, TestClients } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let primary: EmbeddedServer;
let standby: Standby;
let primaryUrl: string;
const clients = new TestClients();
let ws: Workspace;

before(async () => {
  primary = await startEmbeddedPostgres();
  const admin = new pg.Client({ connectionString: primary.url });
  await admin.connect();
  await admin.query('CREATE DATABASE switched');
  await admin.end();
  const u = new URL(primary.url);
  u.pathname = '/switched';
  primaryUrl = u.toString();
  const setup = await clients.connect(primaryUrl);
  await setup.query(
    `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
     INSERT INTO orders SELECT g, 'x', '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) g;`,
  );
  standby = await startStandby({ url: primary.url, dataDir: primary.dataDir });
  await standby.caughtUp();
});
after(async () => {
  await clients.endAll();
  ws?.cleanup();
  await standby?.stop();
  await primary?.stop();
});

async function marked(): Promise<number[]> {
  const rows = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT id FROM orders WHERE _pgduck_deleted_at IS NOT NULL ORDER BY id'), { readOnly: true });
  return rows.map((r) => Number(r.id));
}

test('a switchover that lost nothing is refused, not rebuilt: the rows hard_delete_mode: mark marked stay', async () => {
  ws = createWorkspace();
  ws.writePipeline(
    'orders',
    'source:\n  table: public.orders\n  primary_key: id\n  on_recreate: rebootstrap\n  hard_delete_mode: mark\ntarget:\n  table: orders\nbatch_size: 7\nhorizon:\n  lookback_seconds: 1\n',
  );
  const first = await runCli(['run', '--once'], ws.env(primaryUrl));
  assert.equal(first.code, 0, first.stderr);
  const writer = await clients.connect(primaryUrl);
  await writer.query('DELETE FROM orders WHERE id IN (5, 6)');
  await reconcileOnce(ws, primaryUrl);
  assert.deepEqual(await marked(), [5, 6]);
  // Planned switchover: the standby has replayed everything, then is promoted.
  await standby.caughtUp();
  const onStandby = await clients.connect(standby.url('postgres'));
  await onStandby.query('SELECT pg_promote(true, 60)');
  const standbyUrl = standby.url('switched');
  const run = await runCli(['run', '--once'], ws.env(standbyUrl));
  assert.equal(run.code, 4, run.stderr.slice(-1500));
  assert.match(run.stderr, /SOURCE_REWOUND/);
  assert.deepEqual(await marked(), [5, 6], 'the marked rows survive a switchover');
});
