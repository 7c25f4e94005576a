/**
 * Syncing from a hot standby, through the real CLI, against a real streaming replica
 * (test/support/standby.ts). The standby's pg_stat_activity shows none of the primary's sessions,
 * so the old horizon saw no open transaction, checkpointed past rows of a transaction still open on
 * the primary, and lost them. Now the standby is detected: one loud warning per pipeline, the
 * horizon falls back to the last replayed commit minus horizon.lookback_seconds, no row is lost;
 * `validate --connect` says the same.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { EmbeddedServer } from '../../src/postgres/embedded-server.js';
import { primaryWithDatabase, startStandby, type Standby } from '../support/standby.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, duckIds, readCheckpoint, runOnce, runOnceCli, TestClients } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const WARNING = /hot standby/;

describe('hot standby', () => {
  let primary: EmbeddedServer;
  let standby: Standby;
  let primaryUrl: string;
  let standbyUrl: string;
  let ws: Workspace;
  const clients = new TestClients();
  const onPrimary = () => clients.connect(primaryUrl);
  const ids = () => duckIds(ws, 'orders');
  const warnings = (stderr: string) => stderr.split('\n').filter((l) => WARNING.test(l));

  before(async () => {
    // A standby needs the primary's data directory: always an embedded server of our own.
    ({ primary, url: primaryUrl } = await primaryWithDatabase('replicated'));
    const setup = await onPrimary();
    await setup.query(
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
       CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON orders (updated_at, id);
       CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
       INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
    );
    standby = await startStandby({ url: primary.url, dataDir: primary.dataDir });
    standbyUrl = standby.url('replicated');
    await standby.caughtUp();
    ws = createWorkspace();
  });
  after(async () => {
    await clients.endAll();
    ws?.cleanup();
    await standby?.stop();
    await primary?.stop();
  });

  test('a transaction open on the primary: one warning, lookback fallback, its rows arrive after it commits', async () => {
    const inRecovery = await new pg.Client({ connectionString: standbyUrl });
    await inRecovery.connect();
    assert.equal((await inRecovery.query('SELECT pg_is_in_recovery() AS r')).rows[0].r, true, 'a real standby');
    await inRecovery.end();

    ws.writePipeline(
      'orders',
      'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\nhorizon:\n  lookback_seconds: 120\n',
    );
    const boot = await runOnceCli(ws, standbyUrl, ['--only', 'orders']);
    assert.equal(warnings(boot.stderr).length, 1, `one warning per pipeline, not per batch (5 batches): ${boot.stderr}`);
    assert.match(warnings(boot.stderr)[0], /connect to the primary for an exact horizon/i);
    assert.match(warnings(boot.stderr)[0], /lookback_seconds \(120 s\)/);
    assert.equal(readCheckpoint(ws, 'orders')?.position?.cursor, '2024-01-01 00:00:20+00');

    const late = await onPrimary();
    // UTC, as the checkpoint is written: the two texts compare in time order.
    await late.query(`SET TimeZone = 'UTC'`);
    await late.query('BEGIN');
    const start = (await late.query(`SELECT now()::text AS t`)).rows[0].t as string;
    await late.query(`INSERT INTO orders (id, note) SELECT g, 'late' FROM generate_series(101, 110) AS g`);
    await late.query(`UPDATE orders SET note = 'late update' WHERE id = 3`);
    await new Promise((r) => setTimeout(r, 50));
    const early = await onPrimary();
    await early.query(`INSERT INTO orders (id, note) SELECT g, 'early' FROM generate_series(201, 210) AS g`);
    await standby.caughtUp();

    const run = await runOnceCli(ws, standbyUrl, ['--only', 'orders']);
    assert.equal(warnings(run.stderr).length, 1, run.stderr);
    const loaded = await ids();
    assert.ok(loaded.includes(201) && loaded.includes(210), 'rows replayed meanwhile are loaded (fresh)');
    assert.ok(!loaded.includes(101), 'uncommitted rows are not');
    const cp = readCheckpoint(ws, 'orders')?.position?.cursor ?? '';
    // The old horizon read the standby's own pg_stat_activity (nothing open) and checkpointed row 210.
    assert.ok(cp < start, `checkpoint ${cp} must stay before the open transaction's start ${start}`);

    await late.query('COMMIT');
    await standby.caughtUp();
    await runOnce(ws, standbyUrl, ['--only', 'orders']);
    const after = await ids();
    for (const id of [101, 105, 110, 201, 210]) assert.ok(after.includes(id), `row ${id} arrived`);
    const note = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT note FROM orders WHERE id = 3'), { readOnly: true });
    assert.deepEqual(note, [{ note: 'late update' }]);
    await assertVerified(ws, standbyUrl, ['orders']);
    await assertVerified(ws, primaryUrl, ['orders']);
  });

  test('validate --connect says the source is a standby; against the primary it does not', async () => {
    const env = (url: string) => ({ ...ws.env(url), PGDUCK_LOG_FORMAT: 'json' });
    const onStandby = await runCli(['validate', '--connect', ws.pipelinesDir], env(standbyUrl));
    assert.equal(onStandby.code, 0, `a warning, not an error: ${onStandby.stdout}`);
    assert.match(
      onStandby.stdout,
      /warning: orders: postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/replicated is a hot standby \(pg_is_in_recovery\(\) is true\)/,
    );
    assert.match(onStandby.stdout, /Connect to the primary for an exact horizon/);
    const json = await runCli(['validate', '--connect', '--json', ws.pipelinesDir], env(standbyUrl));
    const findings = JSON.parse(json.stdout).live.findings as { check: string; severity: string; pipelines: string[] }[];
    assert.deepEqual(
      findings.filter((f) => f.check === 'standby').map((f) => [f.severity, f.pipelines]),
      [['warning', ['orders']]],
    );

    const onPrimaryRun = await runCli(['validate', '--connect', ws.pipelinesDir], env(primaryUrl));
    assert.equal(onPrimaryRun.code, 0, onPrimaryRun.stdout);
    assert.doesNotMatch(onPrimaryRun.stdout, /standby/);
  });
});
