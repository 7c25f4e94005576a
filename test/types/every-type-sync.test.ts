/**
 * Every type through the real pipeline: one table with a column per type case (test/support/type-cases.ts)
 * and edge values in every column, synced by `pgduck run --once` in several batches, then compared value
 * by value (canonical forms computed independently on each side) after the bootstrap and after updates
 * that move values between rows, NULL some and add a row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { quoteIdent as q } from '../../src/sql/identifier.js';
import { CASES, GENERATED_CASE, ROWS, TYPES_SETUP_SQL, caseColumnDefs, compareCases, everyTypeRowsSql } from '../support/type-cases.js';

const TOUCH = `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;`;

describe('every type, end to end through `pgduck run`', () => {
  let pgs: TestPostgres;
  let url: string;
  let client: pg.Client;
  let ws: Workspace;

  before(async () => {
    pgs = await startPostgres();
    url = await pgs.createDatabase('every_type');
    await pgs.query(url, TYPES_SETUP_SQL);
    await pgs.query(
      url,
      `${TOUCH}
       CREATE TABLE every_type (id int PRIMARY KEY, ${caseColumnDefs()},
         c_gen text GENERATED ALWAYS AS (upper(c_text)) STORED,
         updated_at timestamptz NOT NULL DEFAULT now());
       CREATE TRIGGER touch BEFORE UPDATE ON every_type FOR EACH ROW EXECUTE FUNCTION touch();`,
    );
    // One transaction: every row shares one updated_at, so batches split rows of one cursor value.
    await pgs.query(url, everyTypeRowsSql('every_type'));
    client = await connectPostgres(url);
    ws = createWorkspace();
    ws.writePipeline('every_type', 'source:\n  table: public.every_type\n  primary_key: id\ntarget:\n  table: every_type\nbatch_size: 3\n');
  });
  after(async () => {
    await client?.end();
    ws?.cleanup();
    await pgs?.stop();
  });

  const assertSame = async (rows: number) => {
    const { problems, compared } = await withDuckDbFile(ws.duckdbPath, async (s) => {
      await s.run("SET TimeZone = 'UTC'");
      const types = new Map(
        (await s.all(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'every_type'`)).map((r) => [
          String(r.column_name),
          String(r.data_type),
        ]),
      );
      return compareCases(
        [...CASES, GENERATED_CASE],
        async (sql) => (await client.query<[string | null]>({ text: `SELECT ${sql} FROM every_type ORDER BY id`, rowMode: 'array' })).rows.map((r) => r[0]),
        async (sql) => (await s.all(`SELECT ${sql} AS v FROM every_type ORDER BY id`)).map((r) => r.v as string | null),
        types,
        rows,
      );
    });
    assert.deepEqual(problems, []);
    assert.ok(compared >= (CASES.length + 1) * rows, `compared ${compared} values`);
  };

  test('bootstrap in batches: every value of every column equal', async () => {
    const res = await runOnce(ws, url);
    assert.match(res.stdout, new RegExp(`✓ every_type: ${ROWS} rows in ${Math.ceil(ROWS / 3)} batches`));
    await assertSame(ROWS);
  });

  test('after updates (values moved between rows, NULLs, a new row): still equal', async () => {
    const cols = CASES.map((c) => q(c.name));
    await pgs.query(
      url,
      // Even rows take the next row's values (the last row is all NULL); row 1 becomes all NULL; a copy of row 0 is added.
      `UPDATE every_type t SET (${cols.join(', ')}) = (SELECT ${cols.map((c) => `s.${c}`).join(', ')} FROM every_type s WHERE s.id = (t.id + 1) % ${ROWS}) WHERE t.id % 2 = 0;
       UPDATE every_type SET ${cols.map((c) => `${c} = NULL`).join(', ')} WHERE id = 1;
       INSERT INTO every_type (id, ${cols.join(', ')}) SELECT ${ROWS}, ${cols.join(', ')} FROM every_type WHERE id = 0;`,
    );
    await runOnce(ws, url);
    await assertSame(ROWS + 1);
  });

  test('a value DuckDB cannot hold (NaN in numeric(8,2)) stops that pipeline, naming the column; the others go on', async () => {
    await pgs.query(
      url,
      `CREATE TABLE prices (id int PRIMARY KEY, p numeric(8,2), updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO prices (id, p) VALUES (1, 1.5), (2, 'NaN'), (3, NULL);
       UPDATE every_type SET c_int4 = 7 WHERE id = 3;`,
    );
    ws.writePipeline('prices', 'source:\n  table: public.prices\n  primary_key: id\ntarget:\n  table: prices\n');
    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 4, 'a value refused by its DuckDB type needs action');
    assert.match(
      res.stdout,
      /✗ prices: pipeline prices failed in upsert \(batch 1\): .*column "p": numeric NaN has no DECIMAL\(8,2\) value.*checkpoint not advanced/,
    );
    // At least the updated row; rows changed less than horizon.margin_ms before the run are read again.
    assert.match(res.stdout, /✓ every_type: [1-9]\d* rows/);
    await assertSame(ROWS + 1);
  });
});
