/**
 * Keyset batches on (cursor, key…), docs/architecture.md, rules 1, 2 and 6, through the real CLI:
 * - 25,000 rows sharing one updated_at, batch size 10,000: every row arrives exactly once;
 * - cursors that differ only in microseconds: all arrive, none twice, the checkpoint keeps the µs;
 * - a composite primary key, and int8 keys beyond 2^53 (exact in the position and the target).
 * "Exactly once" is measured, not assumed: rows read are counted by the checkpoint and by the Parquet
 * files, and must equal the table's row count (a truncated cursor or key would re-read or skip rows).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

describe('keyset batches', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('keyset');
    ws = createWorkspace();
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  /** Rows per Parquet file of a pipeline, in file order. */
  const parquetRows = (pipeline: string) =>
    withDuckDbFile(ws.duckdbPath, async (s) => {
      const files = readdirSync(join(ws.parquetDir, pipeline))
        .filter((f) => f.endsWith('.parquet'))
        .sort();
      const out: number[] = [];
      for (const f of files) out.push(Number((await s.all(`SELECT count(*) AS n FROM read_parquet('${join(ws.parquetDir, pipeline, f)}')`))[0].n));
      return out;
    });

  const duckRows = (sql: string) => withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true });

  test('25,000 rows with one identical updated_at, batch size 10,000: each arrives once', async () => {
    await pg.query(
      url,
      `CREATE TABLE ties (id int PRIMARY KEY, payload text, updated_at timestamptz NOT NULL);
       INSERT INTO ties SELECT g, md5(g::text), '2024-05-01 12:00:00.123456+00' FROM generate_series(1, 25000) AS g ORDER BY random();`,
    );
    ws.writePipeline('ties', 'source:\n  table: public.ties\n  primary_key: id\ntarget:\n  table: ties\nbatch_size: 10000\n');
    const res = await runOnce(ws, url, ['--only', 'ties']);
    assert.match(res.stdout, /✓ ties: 25000 rows in 3 batches/);
    assert.deepEqual(await parquetRows('ties'), [10000, 10000, 5000]);
    const cp = readCheckpoint(ws, 'ties');
    assert.equal(cp?.rowsTotal, 25000);
    assert.deepEqual(cp?.position, { cursor: '2024-05-01 12:00:00.123456+00', key: ['25000'] });
    assert.deepEqual(await duckRows('SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d, min(id) AS lo, max(id) AS hi FROM ties'), [
      { n: 25000, d: 25000, lo: 1, hi: 25000 },
    ]);

    // Nothing new: nothing read.
    const again = await runOnce(ws, url, ['--only', 'ties']);
    assert.match(again.stdout, /✓ ties: 0 rows/);
    await assertVerified(ws, url, ['ties']);
  });

  test('cursors that differ only in microseconds: all arrive, none twice, the checkpoint keeps them', async () => {
    // 300 rows in 100 distinct microseconds of one millisecond (3 rows per µs), ids shuffled against
    // the cursor order; batches of 7 cut inside a microsecond and between neighbours 1 µs apart.
    await pg.query(
      url,
      `CREATE TABLE micro (id int PRIMARY KEY, updated_at timestamptz NOT NULL, note text);
       INSERT INTO micro SELECT g, timestamptz '2024-05-01 12:00:00.123000+00' + ((g * 7919) % 100) * interval '1 microsecond', 'row ' || g
       FROM generate_series(1, 300) AS g;`,
    );
    ws.writePipeline('micro', 'source:\n  table: public.micro\n  primary_key: id\ntarget:\n  table: micro\nbatch_size: 7\n');
    const res = await runOnce(ws, url, ['--only', 'micro']);
    assert.match(res.stdout, /✓ micro: 300 rows in 43 batches/);
    const cp = readCheckpoint(ws, 'micro');
    assert.equal(cp?.rowsTotal, 300, 'no row read twice');
    const last = (
      await pg.query(url, `SELECT (updated_at AT TIME ZONE 'UTC')::text || '+00' AS c, id::text AS id FROM micro ORDER BY updated_at DESC, id DESC LIMIT 1`)
    ).rows[0];
    assert.deepEqual(cp?.position, { cursor: '2024-05-01 12:00:00.123099+00', key: [last.id] });
    assert.equal(last.c, '2024-05-01 12:00:00.123099+00');
    assert.equal(
      (await parquetRows('micro')).reduce((a, b) => a + b, 0),
      300,
    );
    // The target keeps the microseconds too (verify compares epoch µs).
    assert.deepEqual(await duckRows(`SELECT count(DISTINCT updated_at)::INT AS n, count(*)::INT AS rows FROM micro`), [{ n: 100, rows: 300 }]);

    // An update moves one row 1 µs past the checkpoint: exactly that row is read.
    await pg.query(url, `UPDATE micro SET updated_at = '2024-05-01 12:00:00.1231+00', note = 'moved' WHERE id = 1`);
    const again = await runOnce(ws, url, ['--only', 'micro']);
    assert.match(again.stdout, /✓ micro: 1 rows in 1 batches/);
    assert.equal(readCheckpoint(ws, 'micro')?.position?.cursor, '2024-05-01 12:00:00.1231+00');
    await assertVerified(ws, url, ['micro']);
  });

  test('a composite primary key with int8 parts beyond 2^53, in batches that end between them', async () => {
    // 2^53 = 9007199254740992: as JS numbers 9007199254740992 and …993 are the same value.
    await pg.query(
      url,
      `CREATE TABLE lines (tenant bigint, line_no int, amount numeric(20,2), updated_at timestamptz NOT NULL, PRIMARY KEY (tenant, line_no));
       INSERT INTO lines
       SELECT t, n, t::numeric / 1000, '2024-05-01 00:00:00+00'
       FROM unnest(ARRAY[-9223372036854775808, 9007199254740992, 9007199254740993, 9007199254740994, 9223372036854775806, 9223372036854775807]::bigint[]) AS t,
            generate_series(1, 4) AS n;`,
    );
    ws.writePipeline('lines', 'source:\n  table: public.lines\n  primary_key: [tenant, line_no]\ntarget:\n  table: lines\nbatch_size: 3\n');
    const res = await runOnce(ws, url, ['--only', 'lines']);
    assert.match(res.stdout, /✓ lines: 24 rows in 8 batches/);
    const cp = readCheckpoint(ws, 'lines');
    assert.equal(cp?.rowsTotal, 24);
    assert.deepEqual(cp?.position, { cursor: '2024-05-01 00:00:00+00', key: ['9223372036854775807', '4'] });
    const tenants = await duckRows('SELECT CAST(tenant AS VARCHAR) AS t, count(*)::INT AS n FROM lines GROUP BY tenant ORDER BY tenant');
    assert.deepEqual(tenants, [
      { t: '-9223372036854775808', n: 4 },
      { t: '9007199254740992', n: 4 },
      { t: '9007199254740993', n: 4 },
      { t: '9007199254740994', n: 4 },
      { t: '9223372036854775806', n: 4 },
      { t: '9223372036854775807', n: 4 },
    ]);

    // Updates of rows on both sides of a checkpoint that sits between two neighbours above 2^53.
    await pg.query(
      url,
      `UPDATE lines SET amount = amount + 1, updated_at = '2024-05-02 00:00:00+00' WHERE tenant IN (9007199254740993, 9223372036854775807) AND line_no = 2`,
    );
    await runOnce(ws, url, ['--only', 'lines']);
    assert.deepEqual(readCheckpoint(ws, 'lines')?.position, { cursor: '2024-05-02 00:00:00+00', key: ['9223372036854775807', '2'] });
    await assertVerified(ws, url, ['lines']);
  });

  test('a single int8 key beyond 2^53 whose rows share a cursor', async () => {
    await pg.query(
      url,
      `CREATE TABLE big_ids (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT '2024-01-01');
       INSERT INTO big_ids (id) SELECT 9007199254740990 + g FROM generate_series(0, 9) AS g;`,
    );
    ws.writePipeline('big_ids', 'source:\n  table: public.big_ids\n  primary_key: id\ntarget:\n  table: big_ids\nbatch_size: 2\n');
    await runOnce(ws, url, ['--only', 'big_ids']);
    assert.equal(readCheckpoint(ws, 'big_ids')?.rowsTotal, 10);
    assert.deepEqual(await duckRows('SELECT list(CAST(id AS VARCHAR) ORDER BY id) AS ids FROM big_ids'), [
      { ids: Array.from({ length: 10 }, (_, g) => String(9007199254740990n + BigInt(g))) },
    ]);
    await assertVerified(ws, url, ['big_ids']);
  });
});
