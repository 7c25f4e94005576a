/**
 * History files written before files carried their columns' catalog description (here: the same
 * files rewritten by DuckDB, which keeps the data and drops pgduck's key-value metadata) are replayed
 * with the mapping rebuilt from the state store's snapshot of the source columns: values whose load
 * is more than a cast (BC timestamps, bytea hex, ISO intervals, arrays, numerics) arrive exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { listHistory } from '../../src/parquet/history-files.js';

describe('replaying history files without column metadata', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('legacy');
    await server.query(
      url,
      `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
       CREATE TABLE plain (
         id int PRIMARY KEY, small smallint, big bigint, amount numeric(12,3), exact numeric, ok boolean, ratio real,
         at timestamp, day date, span interval, raw bytea, tags varchar(10)[], feeling mood, doc json,
         updated_at timestamptz NOT NULL DEFAULT now() - interval '1 hour'
       );
       INSERT INTO plain (id, small, big, amount, exact, ok, ratio, at, day, span, raw, tags, feeling, doc)
       SELECT g, g - 30, 9007199254740993 + g, g * 1.001, '1e-20'::numeric * g, g % 2 = 0, g / 3.0,
              timestamp '0044-03-15 12:00:00 BC' + g * interval '1 day 0.000001 second', date '0001-01-01 BC' - g,
              make_interval(months => g, days => -g, secs => g * 1.5), decode(lpad(to_hex(g), 2, '0') || '0000ff', 'hex'),
              ARRAY['x' || g, NULL, '"q"'], (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, ('{"n": ' || g || ', "n":  1}')::json
       FROM generate_series(1, 25) g;`,
    );
    ws = createWorkspace();
    ws.writePipeline('plain', 'source:\n  table: public.plain\n  primary_key: id\ntarget:\n  table: plain\nbatch_size: 6\n');
    // Files from before column metadata were written by the row-array path (every column the text the
    // type map reads): this history is made the same way.
    process.env.PGDUCK_DATA_PATH = 'rows';
    try {
      await runOnce(ws, url);
      await server.query(url, `UPDATE plain SET amount = -amount, updated_at = now() WHERE id % 4 = 0`);
      await runOnce(ws, url);
    } finally {
      delete process.env.PGDUCK_DATA_PATH;
    }
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  test('the state store snapshot maps them as the runner did', async () => {
    const legacyDir = join(ws.dir, 'legacy');
    mkdirSync(join(legacyDir, 'plain'), { recursive: true });
    await withDuckDbFile(':memory:', async (s) => {
      for (const f of listHistory(ws.parquetDir, 'plain').files) {
        const to = join(legacyDir, 'plain', f.path.split('/').pop()!);
        await s.run(`COPY (SELECT * FROM read_parquet('${f.path}')) TO '${to}' (FORMAT parquet)`);
        const meta = await s.all(`SELECT 1 FROM parquet_kv_metadata('${to}') WHERE decode(key) = 'pgduck'`);
        assert.equal(meta.length, 0, 'the copy has no pgduck metadata');
      }
    });
    const env = { ...ws.env('postgres://nobody@127.0.0.1:9/nowhere'), PARQUET_DIR: legacyDir };
    const dry = await runCli(['replay', 'plain', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^    0000000001\.parquet  batch, 6 rows; columns mapped from the state store \(file predates column metadata\)$/m);
    assert.doesNotMatch(dry.stdout, /read as text and cast/);

    const rebuilt = join(ws.dir, 'rebuilt.duckdb');
    const res = await runCli(['replay', 'plain', '--duckdb', rebuilt], env);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /^  mode replace: /m);
    const read = (path: string) =>
      withDuckDbFile(
        path,
        async (s) => {
          await s.run("SET TimeZone = 'UTC'");
          const shape = await s.all(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'plain' ORDER BY column_index`);
          const rows = await s.all(
            `SELECT ${shape.map((c) => `CAST("${String(c.column_name)}" AS VARCHAR) AS "${String(c.column_name)}"`).join(', ')} FROM plain ORDER BY id`,
          );
          return { shape, rows };
        },
        { readOnly: true },
      );
    const original = await read(ws.duckdbPath);
    assert.equal(original.rows.length, 25);
    assert.deepEqual(await read(rebuilt), original);
  });
});
