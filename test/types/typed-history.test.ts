/**
 * The CSV data path end to end, on the every-type table (test/support/type-cases.ts): each batch
 * copied from Postgres as CSV and written by DuckDB as a typed Parquet file. Checked: `pgduck verify`
 * finds the DuckDB table equal to the source (checksums of every column), every value equal by its
 * canonical form, each batch file typed as its DuckDB column (INTERVAL and TIMETZ as text) with
 * metadata format 2, no CSV left behind (a crashed run's CSV removed, the user's files kept), a
 * replay of the typed history equal to the synced table, and a format-1 history still replayed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { listHistory } from '../../src/parquet/history-files.js';
import { quoteIdent as q, quoteLiteral } from '../../src/sql/identifier.js';
import { CASES, ROWS, TYPES_SETUP_SQL, caseColumnDefs, compareCases, everyTypeRowsSql } from '../support/type-cases.js';

const TEXT_IN_PARQUET = CASES.filter((c) => /^(INTERVAL|TIME WITH TIME ZONE)(\[\])?$/.test(c.duckType)).map((c) => c.name);

describe('the CSV data path: typed Parquet history of every type', () => {
  let pgs: TestPostgres;
  let url: string;
  let client: pg.Client;
  let ws: Workspace;

  before(async () => {
    pgs = await startPostgres();
    url = await pgs.createDatabase('typed_history');
    await pgs.query(url, TYPES_SETUP_SQL);
    await pgs.query(
      url,
      `CREATE TABLE every_type (id int PRIMARY KEY, ${caseColumnDefs()}, updated_at timestamptz NOT NULL DEFAULT now() - interval '1 hour');`,
    );
    await pgs.query(url, everyTypeRowsSql('every_type'));
    client = await connectPostgres(url);
    ws = createWorkspace();
    ws.writePipeline('every_type', 'source:\n  table: public.every_type\n  primary_key: id\ntarget:\n  table: every_type\nbatch_size: 4\n');
  });
  after(async () => {
    await client?.end();
    ws?.cleanup();
    await pgs?.stop();
  });

  const sameAsSource = async (duckdbPath: string, table: string) => {
    const { problems, compared } = await withDuckDbFile(duckdbPath, async (s) => {
      await s.run("SET TimeZone = 'UTC'");
      const types = new Map(
        (await s.all(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ${quoteLiteral(table)}`)).map((r) => [
          String(r.column_name),
          String(r.data_type),
        ]),
      );
      return compareCases(
        CASES,
        async (sql) => (await client.query<[string | null]>({ text: `SELECT ${sql} FROM every_type ORDER BY id`, rowMode: 'array' })).rows.map((r) => r[0]),
        async (sql) => (await s.all(`SELECT ${sql} AS v FROM ${q(table)} ORDER BY id`)).map((r) => r.v as string | null),
        types,
        ROWS,
      );
    });
    assert.deepEqual(problems, []);
    assert.ok(compared >= CASES.length * ROWS, `compared ${compared} values`);
  };

  test('a crashed run’s CSV is removed by the next run, and only files named by pgduck’s rule; the history folder is listed once', async () => {
    const dir = join(ws.parquetDir, 'every_type');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '0000000099.csv.tmp'), '1,2\n');
    for (const name of ['notes.csv.tmp', '0000000099.csv', 'mine.txt']) writeFileSync(join(dir, name), 'the user’s\n');
    const res = await runOnce(ws, url);
    assert.match(res.stdout, new RegExp(`✓ every_type: ${ROWS} rows in ${Math.ceil(ROWS / 4)} batches`));
    const names = readdirSync(dir);
    assert.ok(!names.includes('0000000099.csv.tmp'), 'the leftover CSV is gone');
    for (const name of ['notes.csv.tmp', '0000000099.csv', 'mine.txt']) assert.ok(names.includes(name), `${name} is kept`);
    assert.deepEqual(
      names.filter((n) => n.endsWith('.tmp') && n !== 'notes.csv.tmp'),
      [],
      'no temporary file is left after a successful run',
    );
    // CSVs go to .tmp/<pipeline>/ now, which the next run lists, never the history folder (which grows by a file a batch, for months).
    const tmp = join(ws.parquetDir, '.tmp', 'every_type');
    assert.deepEqual(readdirSync(tmp), []);
    writeFileSync(join(tmp, '0000000123.csv.tmp'), '1,2\n');
    writeFileSync(join(tmp, 'notes.csv.tmp'), 'the user’s\n');
    writeFileSync(join(dir, '0000000098.csv.tmp'), 'an older pgduck’s, once swept\n');
    await runOnce(ws, url);
    assert.deepEqual(readdirSync(tmp), ['notes.csv.tmp']);
    assert.ok(readdirSync(dir).includes('0000000098.csv.tmp'), 'the history folder is not listed again');
  });

  test('pgduck verify finds the table equal to the source, and every value is equal', async () => {
    const res = await runCli(['verify', 'every_type'], ws.env(url));
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`✓ every_type: equal \\(${ROWS} rows`));
    await sameAsSource(ws.duckdbPath, 'every_type');
  });

  test('each batch file is typed as its DuckDB column (INTERVAL and TIMETZ as text), with metadata format 2', async () => {
    const files = listHistory(ws.parquetDir, 'every_type').files;
    assert.equal(files.length, Math.ceil(ROWS / 4));
    const target = await withDuckDbFile(ws.duckdbPath, async (s) =>
      (await s.all(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'every_type'`)).map((r) => [
        String(r.column_name),
        String(r.data_type),
      ]),
    );
    const targetTypes = new Map(target as [string, string][]);
    await withDuckDbFile(':memory:', async (s) => {
      for (const f of files) {
        const meta = JSON.parse(
          String((await s.all(`SELECT decode(value) AS v FROM parquet_kv_metadata(${quoteLiteral(f.path)}) WHERE decode(key) = 'pgduck'`))[0].v),
        ) as { format: number; transport: string; textColumns: string[] };
        assert.deepEqual([meta.format, meta.transport, [...meta.textColumns].sort()], [2, 'typed', [...TEXT_IN_PARQUET].sort()], f.path);
      }
      const described = new Map(
        (await s.all(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(files[0].path)})`)).map((r) => [String(r.column_name), String(r.column_type)]),
      );
      for (const c of CASES) {
        const want = TEXT_IN_PARQUET.includes(c.name) ? 'VARCHAR' : targetTypes.get(c.name);
        assert.equal(described.get(c.name), want, c.name);
      }
      // The seed's promise: the history answers typed queries itself.
      const [sum] = await s.all(`SELECT sum(c_num) AS s FROM read_parquet(${quoteLiteral(join(ws.parquetDir, 'every_type', '*.parquet'))})`);
      assert.notEqual(sum.s, null);
    });
  });

  test('replay rebuilds the table from the typed history, value for value', async () => {
    const rebuilt = join(ws.dir, 'rebuilt.duckdb');
    const res = await runCli(['replay', 'every_type', '--duckdb', rebuilt], ws.env(url));
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    await sameAsSource(rebuilt, 'every_type');
  });

  test('a format-1 history (text columns, no transport in its metadata) still replays', async () => {
    // A history of the row-array path, its metadata rewritten as format 1 wrote it.
    const old = createWorkspace();
    try {
      old.writePipeline('every_type', 'source:\n  table: public.every_type\n  primary_key: id\ntarget:\n  table: every_type\nbatch_size: 4\n');
      process.env.PGDUCK_DATA_PATH = 'rows';
      try {
        await runOnce(old, url);
      } finally {
        delete process.env.PGDUCK_DATA_PATH;
      }
      const legacyDir = join(old.dir, 'format1');
      mkdirSync(join(legacyDir, 'every_type'), { recursive: true });
      await withDuckDbFile(':memory:', async (s) => {
        for (const f of listHistory(old.parquetDir, 'every_type').files) {
          const meta = JSON.parse(
            String((await s.all(`SELECT decode(value) AS v FROM parquet_kv_metadata(${quoteLiteral(f.path)}) WHERE decode(key) = 'pgduck'`))[0].v),
          ) as Record<string, unknown>;
          assert.equal(meta.transport, 'text');
          const { transport: _t, textColumns: _c, ...rest } = meta;
          const to = join(legacyDir, 'every_type', f.path.split('/').pop()!);
          await s.run(
            `COPY (SELECT * FROM read_parquet(${quoteLiteral(f.path)})) TO ${quoteLiteral(to)} (FORMAT parquet, KV_METADATA {pgduck: ${quoteLiteral(JSON.stringify({ ...rest, format: 1 }))}})`,
          );
        }
      });
      const rebuilt = join(old.dir, 'format1.duckdb');
      const res = await runCli(['replay', 'every_type', '--duckdb', rebuilt], { ...old.env(url), PARQUET_DIR: legacyDir });
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      assert.ok(existsSync(rebuilt));
      await sameAsSource(rebuilt, 'every_type');
    } finally {
      old.cleanup();
    }
  });
});
