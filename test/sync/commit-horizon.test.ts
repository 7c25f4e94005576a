/**
 * The commit-safe horizon (docs/architecture.md, rule 3), through the real CLI. A transaction opened before a
 * sync and committed after it carries updated_at = its start, older than rows committed meanwhile:
 * the sync loads the newer rows but does not checkpoint past the open transaction, so the next cycle
 * reads the late rows. Then the same with a role that cannot see other sessions (no
 * pg_read_all_stats): one warning naming the fix, the lookback window instead, no row lost.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { assertVerified, duckIds, readCheckpoint, runOnce, runOnceCli, TestClients } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const TABLE = (name: string) => `
  CREATE TABLE ${name} (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TRIGGER ${name}_touch BEFORE UPDATE ON ${name} FOR EACH ROW EXECUTE FUNCTION touch();
  INSERT INTO ${name} SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`;

describe('commit-safe horizon', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;
  const clients = new TestClients();
  const connect = (u: string) => clients.connect(u);
  const ids = (table: string) => duckIds(ws, table);

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('horizon');
    await server.query(url, `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;`);
    ws = createWorkspace();
  });
  after(async () => {
    await clients.endAll();
    ws?.cleanup();
    await server?.stop();
  });

  test('a transaction open during a sync: its rows arrive on the next cycle', async () => {
    await server.query(url, TABLE('orders'));
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n');
    await runOnce(ws, url, ['--only', 'orders']);

    const late = await connect(url);
    // UTC, as the checkpoint is written: the two texts then compare in time order whatever the server's zone.
    await late.query(`SET TimeZone = 'UTC'`);
    await late.query('BEGIN');
    const t0 = (await late.query(`SELECT now()::text AS t`)).rows[0].t as string;
    await late.query(`INSERT INTO orders (id, note) SELECT g, 'late' FROM generate_series(101, 110) AS g`);
    await late.query(`UPDATE orders SET note = 'late update' WHERE id = 3`);
    await new Promise((r) => setTimeout(r, 50));
    // Committed after the late transaction started: newer updated_at, visible now.
    await server.query(url, `INSERT INTO orders (id, note) SELECT g, 'early' FROM generate_series(201, 210) AS g`);

    await runOnce(ws, url, ['--only', 'orders']);
    const loaded = await ids('orders');
    assert.ok(loaded.includes(201) && loaded.includes(210), 'rows committed meanwhile are loaded (fresh)');
    assert.ok(!loaded.includes(101), 'uncommitted rows are not');
    const cp = readCheckpoint(ws, 'orders');
    assert.ok(cp?.position && cp.position.cursor < t0, `checkpoint ${cp?.position?.cursor} must stay before the open transaction's start ${t0}`);

    await late.query('COMMIT');
    await runOnce(ws, url, ['--only', 'orders']);
    const after = await ids('orders');
    for (const id of [101, 105, 110, 201]) assert.ok(after.includes(id), `row ${id} arrived`);
    const note = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT note FROM orders WHERE id = 3'), { readOnly: true });
    assert.deepEqual(note, [{ note: 'late update' }]);
    // Once nothing is open the checkpoint moves to the newest row (after the default 1 s margin; a few
    // tries, in case some other session of the server is inside a transaction just then).
    const last = (await server.query(url, `SELECT (updated_at AT TIME ZONE 'UTC')::text || '+00' AS c FROM orders ORDER BY updated_at DESC, id DESC LIMIT 1`))
      .rows[0].c;
    for (let i = 0; i < 5 && readCheckpoint(ws, 'orders')?.position?.cursor !== last; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      await runOnce(ws, url, ['--only', 'orders']);
    }
    assert.equal(readCheckpoint(ws, 'orders')?.position?.cursor, last);
    await assertVerified(ws, url, ['orders']);
  });

  test('a role without pg_read_all_stats: one warning naming the fix, lookback window, no row lost', async () => {
    await server.query(url, TABLE('payments'));
    await server.query(
      url,
      `CREATE ROLE limited LOGIN PASSWORD 'limited-pw' NOSUPERUSER;
       GRANT USAGE ON SCHEMA public TO limited; GRANT SELECT ON payments TO limited;`,
    );
    const limitedUrl = new URL(url);
    limitedUrl.username = 'limited';
    limitedUrl.password = 'limited-pw';
    const sees = await server.query(
      limitedUrl.toString(),
      `SELECT pg_has_role('pg_read_all_stats', 'USAGE') AS s, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su`,
    );
    assert.deepEqual(sees.rows[0], { s: false, su: false });

    ws.writePipeline(
      'payments',
      'source:\n  table: public.payments\n  primary_key: id\ntarget:\n  table: payments\nbatch_size: 5\nhorizon:\n  lookback_seconds: 120\n',
    );
    const late = await connect(url); // the superuser: a session `limited` cannot see
    await late.query('BEGIN');
    await late.query(`SELECT 1`);
    await late.query(`INSERT INTO payments (id, note) SELECT g, 'late' FROM generate_series(101, 110) AS g`);
    await new Promise((r) => setTimeout(r, 50));
    await server.query(url, `INSERT INTO payments (id, note) SELECT g, 'early' FROM generate_series(201, 210) AS g`);

    const first = await runOnceCli(ws, limitedUrl.toString(), ['--only', 'payments']);
    const warnings = first.stderr.split('\n').filter((l) => l.includes('cannot see other sessions'));
    assert.equal(warnings.length, 1, `one warning per pipeline, not per batch (6 batches): ${first.stderr}`);
    assert.match(warnings[0], /GRANT pg_read_all_stats TO \\"limited\\"/);
    assert.match(warnings[0], /lookback_seconds \(120 s\)/);
    const loaded = await ids('payments');
    assert.ok(loaded.includes(201) && !loaded.includes(101));
    // Only rows older than now() - 120 s are behind the checkpoint: the seeded 2024 rows.
    assert.match(readCheckpoint(ws, 'payments')?.position?.cursor ?? '', /^2024-01-01 00:00:20\+00$/);
    assert.equal(readCheckpoint(ws, 'payments')?.bootstrapDone, true, 'the first pass reached the end: bootstrap done, checkpoint still held');

    await late.query('COMMIT');
    await runOnce(ws, limitedUrl.toString(), ['--only', 'payments']);
    const after = await ids('payments');
    for (const id of [101, 110, 201, 210]) assert.ok(after.includes(id), `row ${id} arrived`);
    await assertVerified(ws, url, ['payments']);

    // With the grant the horizon reads pg_stat_activity again: no warning.
    await server.query(url, 'GRANT pg_read_all_stats TO limited');
    const granted = await runOnceCli(ws, limitedUrl.toString(), ['--only', 'payments']);
    assert.doesNotMatch(granted.stderr, /cannot see other sessions/);
  });
});
