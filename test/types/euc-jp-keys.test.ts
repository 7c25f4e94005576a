/**
 * Found by review (row loss, database encodings): Postgres' EUC_JP → UTF8 conversion is not one-to-one. NEC
 * row 13 holds second codes of math symbols JIS X 0208 also has: EUC_JP 0xA2E8 and 0xADFA both
 * become U+2235 '∵' (also ∩ a2c1/adfb, ∫ a2e9/adf2, ∪ a2c0/adfc, ≒, ≡, √, ∠, ⊥; measured with
 * convert_from). In an EUC_JP database they are two distinct text values, so two primary keys.
 * pgduck's sessions run in UTF8 (pg-protocol's startup packet), so both keys reach DuckDB as one.
 *
 * Measured: both in one batch, or one batch each in one run: DuckDB's primary key refuses the upsert
 * (duplicate key "∵", INTERNAL): a refusal (tests 1 and 2 pass). The second spelling arriving in a
 * later run (test 3, FAILS): that run says ok and its upsert replaces the first row by the second;
 * DuckDB holds 2 rows for the source's 3 (verify reports it as one 'changed' row, not a missing
 * one). The checkpoint then holds '∵', which the next literal converts back to 0xA2E8, before 0xADFA:
 * every later run reads that row again. Now a text key of a database in such an encoding is refused
 * before anything is read (src/live/judge-source.ts), by validate --connect and by the run; a bytea
 * key (the exact bytes, through a view) syncs every row.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;

before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const eucJpDatabase = (name: string) => pgs.createDatabase(name, { encoding: 'EUC_JP' });

const pipeline = (batch: number) => `source:\n  table: public.items\n  primary_key: k\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: ${batch}\n`;

/** Two rows whose keys are the two EUC_JP spellings of '∵', and one plain row. */
const TABLE = `CREATE TABLE items (k text PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
  CREATE INDEX ON items (updated_at, k);
  INSERT INTO items VALUES
    (convert_from('\\xa2e8'::bytea, 'EUC_JP'), 'JIS X 0208', '2025-01-01 00:00:00+00'),
    (convert_from('\\xadfa'::bytea, 'EUC_JP'), 'NEC row 13', '2025-01-01 00:00:00+00'),
    ('z', 'plain', '2025-01-01 00:00:00+00');`;

test('EUC_JP source, a text key: refused before anything is read, by validate --connect and by the run', async () => {
  const url = await eucJpDatabase('eucjp_keys');
  const ws = createWorkspace();
  try {
    await pgs.query(url, TABLE);
    const distinct = (await pgs.query(url, `SELECT count(*)::int AS n, count(DISTINCT convert_to(k, 'UTF8'))::int AS u FROM items`)).rows[0];
    assert.deepEqual(distinct, { n: 3, u: 2 }, 'the premise: 3 keys in Postgres, 2 once converted to UTF-8');
    ws.writePipeline('items', pipeline(100));
    const validate = await runCli(['validate', '--connect'], ws.env(url));
    assert.equal(validate.code, 1, validate.stdout + validate.stderr);
    assert.match(validate.stdout + validate.stderr, /encoding is EUC_JP, which Postgres converts to UTF-8 many-to-one/);
    const outcome = await runOutcome(ws, url);
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.code, 'SOURCE_REFUSED', outcome.message);
    await assert.rejects(
      withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT 1 FROM items'), { readOnly: true }),
      'no table was made',
    );
  } finally {
    ws.cleanup();
  }
});

test("EUC_JP source keyed on the key's exact bytes (a view, as the refusal says): every row, both spellings", async () => {
  const url = await eucJpDatabase('eucjp_bytes');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `${TABLE}
CREATE VIEW items_sync AS SELECT *, convert_to(k, 'EUC_JP') AS k_bytes FROM items;`,
    );
    ws.writePipeline('items', 'source:\n  table: public.items_sync\n  primary_key: k_bytes\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 100\n');
    const outcome = await runOutcome(ws, url);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const rows = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT k, note FROM items ORDER BY note`)).map((r) => `${r.k} ${r.note}`), {
      readOnly: true,
    });
    assert.deepEqual(rows, ['∵ JIS X 0208', '∵ NEC row 13', 'z plain']);
  } finally {
    ws.cleanup();
  }
});

test('EUC_JP source with an integer key: not refused, its text values arrive', async () => {
  const url = await eucJpDatabase('eucjp_int');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items VALUES (1, convert_from('\\xa4a2'::bytea, 'EUC_JP'), '2025-01-01 00:00:00+00');`,
    );
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\n');
    const outcome = await runOutcome(ws, url);
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    const notes = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all('SELECT note FROM items')).map((r) => String(r.note)), { readOnly: true });
    assert.deepEqual(notes, ['あ']);
  } finally {
    ws.cleanup();
  }
});
