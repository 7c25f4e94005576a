/**
 * Row level security on the source (found by review). A role a policy applies to (not the table's
 * owner, no BYPASSRLS, not a superuser) reads only the rows the policy shows, and Postgres says
 * nothing about the others: the run synced half the table and reported success, verify as that role
 * said equal, a policy that later showed more rows showed rows whose cursors the checkpoint had
 * passed (never read), and a reconcile after RLS was enabled removed the rows it hid. Now `validate
 * --connect`, `run` and `init` refuse such a table (row_security_active), and every session runs
 * with `row_security = off`, so a read the policy would filter fails instead (reconcile included).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds, runOnce } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const PIPELINE = 'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\nbatch_size: 5\n';
const TABLE = `CREATE TABLE orders (id int PRIMARY KEY, tenant text NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON orders (updated_at, id);
INSERT INTO orders SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`;
const POLICY = `ALTER TABLE orders ENABLE ROW LEVEL SECURITY; CREATE POLICY tenant_a ON orders FOR SELECT USING (tenant = 'a');`;

/** A login role with SELECT on orders (and what the horizon needs); its URL. */
async function reader(url: string, role: string, extra = ''): Promise<string> {
  const db = new URL(url).pathname.slice(1);
  await pgs.query(url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw' NOSUPERUSER ${extra}`);
  await pgs.query(url, `GRANT CONNECT ON DATABASE "${db}" TO ${role}; GRANT USAGE, CREATE ON SCHEMA public TO ${role}; GRANT pg_read_all_stats TO ${role}`);
  await pgs.query(url, `GRANT SELECT ON orders TO ${role}`);
  const u = new URL(url);
  u.username = role;
  u.password = 'pw';
  return u.toString();
}

async function dropRole(url: string, role: string): Promise<void> {
  await pgs.query(url, `DROP OWNED BY ${role}`).catch(() => {});
  await pgs.query(url, `DROP ROLE IF EXISTS ${role}`).catch(() => {});
}

async function withCase(name: string, fn: (url: string, ws: Workspace, role: string) => Promise<void>): Promise<void> {
  const url = await pgs.createDatabase(name);
  const ws = createWorkspace();
  const role = `${name}_${process.pid}`;
  try {
    await fn(url, ws, role);
  } finally {
    ws.cleanup();
    await dropRole(url, role);
  }
}

test('a policy applies to the role: validate --connect and run refuse before reading; nothing synced', async () => {
  await withCase('rls_refused', async (url, ws, role) => {
    await pgs.query(url, `${TABLE}\n${POLICY}`);
    const as = await reader(url, role);
    ws.writePipeline('orders', PIPELINE);

    const validate = await runCli(['validate', '--connect'], ws.env(as));
    assert.equal(validate.code, 1, validate.stdout + validate.stderr);
    assert.match(validate.stdout + validate.stderr, /row level security applies to role "?rls_refused_\d+"? on "public"\."orders"/);
    assert.match(validate.stdout + validate.stderr, /BYPASSRLS/);

    const run = await runCli(['run', '--once'], ws.env(as));
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /SOURCE_REFUSED|row level security applies/);
    await assert.rejects(duckIds(ws, 'orders'), 'no table was made from a subset');
  });
});

test('a role with BYPASSRLS, and the owner, read every row under the same policy', async () => {
  await withCase('rls_bypass', async (url, ws, role) => {
    await pgs.query(url, `${TABLE}\n${POLICY}`);
    const as = await reader(url, role, 'BYPASSRLS');
    ws.writePipeline('orders', PIPELINE);
    await runOnce(ws, as);
    assert.deepEqual(
      await duckIds(ws, 'orders'),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    // The owner (the test's superuser here) too: the policy does not apply to it.
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'orders')).length, 20);
  });
});

test('row level security enabled after the bootstrap: the run refuses and a reconcile removes nothing', async () => {
  await withCase('rls_later', async (url, ws, role) => {
    await pgs.query(url, TABLE);
    const as = await reader(url, role);
    ws.writePipeline('orders', PIPELINE);
    await runOnce(ws, as);
    assert.equal((await duckIds(ws, 'orders')).length, 20);

    await pgs.query(url, POLICY);
    const run = await runCli(['run', '--once'], ws.env(as));
    assert.equal(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /row level security applies/);

    // Several times: the Postgres side's failure used to reject while DuckDB's query of the same range
    // still ran, and closing the instance under it killed the process (SIGSEGV, nothing printed) in
    // about one run in four (verify-table.ts bothSides).
    for (let i = 0; i < 6; i++) {
      const reconcile = await runCli(['reconcile', 'orders'], ws.env(as));
      assert.equal(reconcile.signal, null, `reconcile ${i + 1} died of ${reconcile.signal}`);
      assert.equal(reconcile.code, 1, 'a reconcile that could read only some keys fails instead of removing the others');
      assert.match(reconcile.stdout + reconcile.stderr, /ROW_SECURITY/);
    }
    assert.equal((await duckIds(ws, 'orders')).length, 20, 'no row removed');
  });
});

test('init skips a table whose policies apply to the role, saying why', async () => {
  await withCase('rls_init', async (url, ws, role) => {
    await pgs.query(url, `${TABLE}\n${POLICY}`);
    const as = await reader(url, role);
    const res = await runCli(['init', '--json'], ws.env(as));
    const out = JSON.parse(res.stdout) as { written: { table: string }[]; skipped: { table: string; message: string }[] };
    assert.deepEqual(
      out.written.map((w) => w.table),
      [],
      res.stdout,
    );
    assert.match(out.skipped.find((s) => s.table.endsWith('orders'))?.message ?? '', /row level security applies/);
  });
});
