/**
 * Two source columns that are one name to DuckDB ("MyColumn" and "mycolumn": DuckDB identifiers
 * ignore case): validate --connect names both, and run refuses the pipeline up front with the same
 * message instead of failing every run with DuckDB's "Column with name … already exists!".
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const SQL = `
CREATE TABLE mixed (id int PRIMARY KEY, "MyColumn" int, mycolumn text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour');
CREATE INDEX ON mixed (updated_at, id);
INSERT INTO mixed VALUES (1, 1, 'one');`;

describe('column names DuckDB cannot tell apart', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('validate --connect and run both refuse, naming both columns', async () => {
    const url = await pgs.createDatabase('mixed_case');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('mixed', 'source:\n  table: public.mixed\n  primary_key: id\ntarget:\n  table: mixed\n');
      const validate = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
      assert.equal(validate.code, 1, validate.stdout + validate.stderr);
      const message = 'columns "MyColumn" and "mycolumn" of "public"."mixed" are one name to DuckDB, whose identifiers ignore case';
      const fix = 'ALTER TABLE "public"."mixed" RENAME COLUMN "mycolumn" TO "mycolumn_2";';
      assert.ok(validate.stdout.includes(message), validate.stdout);
      assert.ok(validate.stdout.includes(fix), validate.stdout);

      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.ok(res.stdout.includes(`✗ mixed: `) && res.stdout.includes(message) && res.stdout.includes(fix), res.stdout);
      assert.doesNotMatch(res.stdout, /already exists/);
      const tables = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT count(*)::INT AS n FROM duckdb_tables()`), { readOnly: true }).catch(() => [
        { n: 0 },
      ]);
      assert.deepEqual(tables, [{ n: 0 }]);

      await pgs.query(url, `ALTER TABLE mixed RENAME COLUMN mycolumn TO mycolumn_2`);
      const ok = await runCli(['run', '--once'], ws.env(url));
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    } finally {
      ws.cleanup();
    }
  });
});
