/**
 * Found by review (session settings, role/database settings): connectPostgres pins the session in the startup
 * packet's `options` (SESSION_GUCS, src/postgres/connect.ts: TimeZone, DateStyle, IntervalStyle,
 * bytea_output, extra_float_digits, row_security). A connection string that has an `options`
 * parameter of its own (`?options=-c%20search_path%3Dapp`, or Neon's `?options=endpoint%3D…`)
 * replaces them: pg merges the parsed URL over the client config (ConnectionParameters:
 * Object.assign({}, config, parse(connectionString))), so pgduck's `options` is dropped without a word
 * (measured: TimeZone, row_security=on, IntervalStyle=postgres, application_name ''). Then the
 * database's or the role's own settings apply:
 * - `ALTER DATABASE … SET extra_float_digits = 0`: float8 is printed with 15 digits, and
 *   0.30000000000000004 arrives in DuckDB as 0.3 (the run says ok);
 *
 * - a table with row level security read by a role its policy applies to: probe, holds (setup checks
 *   for policies itself and refuses, whatever row_security says).
 * client_encoding stays UTF8 (pg-protocol sends it apart from options).
 * Fixed: the URL's options go first in the startup packet, pgduck's after them (connect.ts urlOptions).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
let serverUrl: string;
const role = `url_rls_${process.pid}`;
before(async () => {
  pgs = await startPostgres();
  const u = new URL(pgs.url);
  u.pathname = '/postgres';
  serverUrl = u.toString();
});
after(async () => {
  await pgs?.query(serverUrl, `DROP ROLE IF EXISTS ${role}`).catch(() => {});
  await pgs?.stop();
});

const pipeline = `source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 100\n`;

/** The URL with a connection-string `options` parameter (a search_path, as many URLs carry). */
function withOptions(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', '-c search_path=public');
  return u.toString();
}

test('a URL with options=, the database setting extra_float_digits = 0: every float8 arrives bit for bit', { timeout: 60_000 }, async () => {
  const url = await pgs.createDatabase('url_options_float');
  const ws = createWorkspace();
  try {
    const dbName = new URL(url).pathname.slice(1);
    await pgs.query(serverUrl, `ALTER DATABASE "${dbName}" SET extra_float_digits = 0`);
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, x float8 NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items VALUES (1, 0.1::float8 + 0.2::float8, '2025-01-01'), (2, 1::float8 / 3, '2025-01-01'), (3, 1e-320, '2025-01-01');`,
    );
    ws.writePipeline('items', pipeline);
    const outcome = await runOutcome(ws, withOptions(url));
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    // float8send: the 8 bytes of each value, as DuckDB's DOUBLE must hold them.
    const src = (await pgs.query(url, `SELECT id, encode(float8send(x), 'hex') AS bits FROM items ORDER BY id`)).rows.map(
      (r) => `${r.id} ${Buffer.from(String(r.bits), 'hex').readDoubleBE(0)}`,
    );
    const dst = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all('SELECT id, x FROM items ORDER BY id')).map((r) => `${r.id} ${Number(r.x)}`), {
      readOnly: true,
    });
    assert.deepEqual(dst, src, 'the run said ok: every float8 exact');
  } finally {
    ws.cleanup();
  }
});

test('a URL with options=, a table whose row level security policy hides rows from the role: refused, never a subset', { timeout: 60_000 }, async () => {
  const url = await pgs.createDatabase('url_options_rls');
  const ws = createWorkspace();
  try {
    await pgs.query(serverUrl, `CREATE ROLE ${role} LOGIN PASSWORD 'review'`);
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, visible boolean NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items VALUES (1, true, '2025-01-01'), (2, false, '2025-01-01'), (3, true, '2025-01-01');
       ALTER TABLE items ENABLE ROW LEVEL SECURITY;
       CREATE POLICY only_visible ON items FOR SELECT USING (visible);
       GRANT SELECT ON items TO ${role};`,
    );
    const asRole = new URL(url);
    asRole.username = role;
    asRole.password = 'review';
    ws.writePipeline('items', pipeline);
    // The premise: without options= pgduck refuses the table (row_security=off makes the query fail).
    const plain = await runOutcome(ws, asRole.toString());
    assert.equal(plain.ok, false, 'without options=: refused');
    const outcome = await runOutcome(ws, withOptions(asRole.toString()));
    if (!outcome.ok) return assert.match(outcome.message, /row level security/); // measured: setup's own RLS check refuses it
    const ids = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all('SELECT id FROM items ORDER BY id')).map((r) => Number(r.id)), {
      readOnly: true,
    });
    assert.deepEqual(ids, [1, 2, 3], 'the run said ok: every row of the table');
  } finally {
    await pgs.query(url, `DROP OWNED BY ${role}`).catch(() => {});
    ws.cleanup();
  }
});
