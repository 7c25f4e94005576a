/**
 * Found by review (database encodings): a source database in a single-byte encoding (WIN1252, LATIN1) with
 * non-ASCII text in keys and values, and client_encoding LATIN1 set on the database and on the role
 * in it (ALTER DATABASE / ALTER ROLE … IN DATABASE … SET client_encoding).
 *
 * Probe (holds): pgduck's sessions still run in UTF8 (pg-protocol sends client_encoding=UTF8 in the
 * startup packet, which outranks both settings), so values, keys and the keyset literals of the
 * next batches are converted both ways: the rows arrive byte for byte (as UTF-8) and a run after
 * new rows reads exactly them.
 *
 * verify: keys of a text primary key are compared in byte order, Postgres `COLLATE "C"` and DuckDB's
 * binary order (src/verify/key-order.ts). In a UTF8 database the two are one order; in WIN1252
 * `COLLATE "C"` orders the database's own bytes ('€' is 0x80, 'é' 0xE9) while DuckDB orders UTF-8
 * ('é' U+00E9 before '€' U+20AC). Past one leaf (512 rows) the ranges verify cuts at DuckDB's keys
 * hold other rows in Postgres, and equal tables were reported different (reconcile failed). The
 * Postgres side now orders and bounds text keys by their UTF-8 bytes there. And an ellipsis in a
 * comment of the column introspection failed every LATIN1 run (the SQL sent is ASCII now:
 * test/project/sql-ascii.unit.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { join } from 'node:path';
import { assertVerified, loadWorkspace, runOnce } from '../support/sync-checks.js';
import { CheckpointStore, type ReconcileRecord } from '../../src/state/checkpoint-store.js';
import { reconcilePipeline } from '../../src/repair/reconcile-pipeline.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;

before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** A database of `encoding` whose own and whose role's client_encoding say LATIN1 (pgduck's sessions must not follow them). */
async function encodedDatabase(name: string, encoding: string): Promise<string> {
  const url = await pgs.createDatabase(name, { encoding });
  const actual = new URL(url).pathname.slice(1);
  // From a UTF8 database: in the new one the setting is checked against its own encoding (no WIN1252 → LATIN1 conversion).
  await pgs.query(pgs.url, `ALTER DATABASE "${actual}" SET client_encoding = 'LATIN1'`);
  await pgs.query(pgs.url, `ALTER ROLE CURRENT_USER IN DATABASE "${actual}" SET client_encoding = 'LATIN1'`);
  return url;
}

/** reconcilePipeline per pipeline, as `pgduck reconcile` runs it: its records, errors included. */
async function reconcileRecords(ws: ReturnType<typeof createWorkspace>, url: string): Promise<ReconcileRecord[]> {
  const { pipelines } = loadWorkspace(ws.env(url), []);
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    const out: ReconcileRecord[] = [];
    for (const p of pipelines) out.push(await reconcilePipeline(p, store));
    return out;
  } finally {
    store.close();
  }
}

const pipeline = `source:\n  table: public.items\n  primary_key: k\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 100\n`;

async function sourceHex(url: string): Promise<string[]> {
  return (
    await pgs.query(url, `SELECT encode(convert_to(k, 'UTF8'), 'hex') AS k, encode(convert_to(note, 'UTF8'), 'hex') AS note FROM items ORDER BY 1`)
  ).rows.map((r) => `${r.k} ${r.note}`);
}

async function targetHex(path: string): Promise<string[]> {
  return withDuckDbFile(
    path,
    async (s) => (await s.all(`SELECT lower(hex(encode(k))) AS k, lower(hex(encode(note))) AS note FROM items ORDER BY 1`)).map((r) => `${r.k} ${r.note}`),
    { readOnly: true },
  );
}

/** `n` rows whose keys start with each of `letters` (WIN1252 has all of them), same cursor: the keyset runs on the key. */
const rows = (letters: string[], n: number, at: string) =>
  `INSERT INTO items SELECT l || lpad(i::text, 4, '0'), 'note ' || l || ' ' || i, '${at}' FROM unnest(ARRAY[${letters
    .map((l) => `U&'\\${l.codePointAt(0)?.toString(16).padStart(4, '0')}'`)
    .join(', ')}]) AS l, generate_series(1, ${n}) AS i`;

for (const encoding of ['WIN1252', 'LATIN1']) {
  // WIN1252 has '€' (0x80) and '‘' (0x91); LATIN1 has neither.
  const letters = encoding === 'WIN1252' ? ['€', '‘', 'é', 'ü', 'a'] : ['é', 'ü', 'ÿ', 'a'];

  test(`${encoding} source, client_encoding LATIN1 on the database and the role: non-ASCII keys and values arrive exactly, bootstrap and after`, async () => {
    const url = await encodedDatabase(`review_enc_${encoding.toLowerCase()}`, encoding);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE items (k text PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL); CREATE INDEX ON items (updated_at, k);`,
      );
      await pgs.query(url, rows(letters, 150, '2025-01-01 00:00:00+00'));
      ws.writePipeline('items', pipeline);
      await runOnce(ws, url);
      assert.deepEqual(await targetHex(ws.duckdbPath), await sourceHex(url), 'bootstrap: as in Postgres');
      // Rows after the checkpoint, same cursor: the next batches start after a non-ASCII key literal.
      await pgs.query(url, `UPDATE items SET note = note || ' changed', updated_at = '2025-02-01 00:00:00+00' WHERE k LIKE '%5'`);
      await runOnce(ws, url);
      assert.deepEqual(await targetHex(ws.duckdbPath), await sourceHex(url), 'incremental: as in Postgres');
    } finally {
      ws.cleanup();
    }
  });

  test(`${encoding} source: verify says equal of equal tables (text keys past one leaf), and reconcile removes nothing`, async () => {
    const url = await encodedDatabase(`review_enc_verify_${encoding.toLowerCase()}`, encoding);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE items (k text PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL); CREATE INDEX ON items (updated_at, k);`,
      );
      await pgs.query(url, rows(letters, 300, '2025-01-01 00:00:00+00'));
      ws.writePipeline('items', pipeline);
      await runOnce(ws, url);
      assert.deepEqual(await targetHex(ws.duckdbPath), await sourceHex(url), 'synced: as in Postgres');
      const problems: string[] = [];
      await assertVerified(ws, url).catch((err: Error) => problems.push(`verify: ${err.message.slice(0, 1500)}`));
      // Whatever verify said: reconcile must not take any of these rows for gone, and must not fail.
      const [record] = await reconcileRecords(ws, url);
      if (record.error) problems.push(`reconcile failed: ${record.error}`);
      if (record.removed > 0) problems.push(`reconcile removed ${record.removed} rows that are in the source`);
      const after = await targetHex(ws.duckdbPath);
      const expected = await sourceHex(url);
      if (JSON.stringify(after) !== JSON.stringify(expected))
        problems.push(`after reconcile: DuckDB holds ${after.length} rows, the source ${expected.length}`);
      assert.deepEqual(problems, []);
    } finally {
      ws.cleanup();
    }
  });
}
