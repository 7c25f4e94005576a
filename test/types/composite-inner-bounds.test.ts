/**
 * Found by review (values changed silently): a composite value travels as `to_json(c)` (type-map.ts COMPOSITE,
 * and the composite-array selectExpr). to_json drops every array lower bound, and the composite paths
 * check none of the bounds it drops but the outer array's first dimension:
 * - a composite whose field is an array with a lower bound other than 1 (`'[0:1]={1,2}'`),
 * - a 2-D array of composites whose second dimension starts elsewhere than 1 (`'[1:1][0:1]={{…}}'`),
 * - a 1-D array of composites (bound 1) whose element holds such an array field.
 * Postgres holds these values as different from their bound-1 twins (`=` is false); DuckDB receives
 * the same JSON for both, the run reports success, and verify (which compares the extract's own
 * to_json text on both sides) reports the table equal. The README promises for arrays and for
 * arrays of composites that "a lower bound ≠ 1 stops the pipeline (the bound would be lost)", as
 * an int[] of that shape does (test/types/composite-array-bounds.test.ts).
 *
 * Now a composite value, or an element of an array of them, that does not come back from its own
 * JSON stops the load naming the column, and every dimension of such an array must start at 1
 * (src/schema/type-map.ts, roundTrips).
 *
 * Each test: rows (1: bound ≠ 1, 2: the same elements with bound 1). Either the run stops naming the
 * column, or DuckDB keeps the two values apart. Checked on the CSV path (bootstrap stream, then an
 * incremental keyset batch) and the rows path (PGDUCK_DATA_PATH=rows).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { loadWorkspace, runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { verifyPipeline } from '../../src/repair/verify-pipeline.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const SETUP = `CREATE TYPE holder AS (tag text, nums int[]);
  CREATE TABLE items (id int PRIMARY KEY, h holder, hs holder[], updated_at timestamptz NOT NULL);
  CREATE INDEX ON items (updated_at, id);`;

/** One run of the workspace's pipelines; the outcome (ok or the failure message), never an assertion. */
async function run(ws: Workspace, url: string): Promise<{ ok: boolean; message: string }> {
  const o = await runOutcome(ws, url);
  return { ok: o.ok, message: o.ok ? '' : o.message };
}

async function pgPair(url: string, col: string): Promise<{ texts: string[]; equal: boolean }> {
  const r = await pgs.query(
    url,
    `SELECT (SELECT ${col}::text FROM items WHERE id = 1) AS a, (SELECT ${col}::text FROM items WHERE id = 2) AS b,
    (SELECT ${col} FROM items WHERE id = 1) = (SELECT ${col} FROM items WHERE id = 2) AS eq`,
  );
  return { texts: [String(r.rows[0].a), String(r.rows[0].b)], equal: r.rows[0].eq === true || r.rows[0].eq === 't' };
}

async function duckPair(ws: Workspace, col: string): Promise<string[]> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => (await s.all(`SELECT CAST(${col} AS VARCHAR) AS v FROM items WHERE id IN (1, 2) ORDER BY id`)).map((r) => String(r.v)),
    { readOnly: true },
  );
}

/** The run stops naming the column, or DuckDB holds the two Postgres-distinct values apart. */
async function assertKeptOrRefused(ws: Workspace, url: string, col: string, where: string): Promise<void> {
  const outcome = await run(ws, url);
  const pg = await pgPair(url, col);
  assert.equal(pg.equal, false, `Postgres holds two different values: ${pg.texts.join(' vs ')}`);
  if (!outcome.ok) {
    assert.match(outcome.message, new RegExp(`column "${col}"`), `${where}: a stop must name the column`);
    return;
  }
  const duck = await duckPair(ws, col);
  assert.notEqual(
    duck[0],
    duck[1],
    `${where}: the run reported success, but DuckDB holds the same value for Postgres ${pg.texts[0]} (id 1) and ${pg.texts[1]} (id 2): ${duck[0]}`,
  );
}

const PIPELINE = 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 1\n';

const CASES = [
  {
    name: 'a composite whose int[] field has lower bound 0',
    col: 'h',
    values: [`ROW('a', '[0:1]={1,2}')::holder`, `ROW('a', '{1,2}')::holder`],
  },
  {
    name: 'a 2-D array of composites whose second dimension starts at 0',
    col: 'hs',
    values: [`'[1:1][0:1]={{"(a,{1})","(b,{2})"}}'::holder[]`, `'{{"(a,{1})","(b,{2})"}}'::holder[]`],
  },
  {
    name: 'a 1-D array of composites (bound 1) whose element holds an int[] with lower bound 0',
    col: 'hs',
    values: [`ARRAY[ROW('a', '[0:1]={1,2}')::holder]`, `ARRAY[ROW('a', '{1,2}')::holder]`],
  },
];

for (const [i, c] of CASES.entries()) {
  test(`CSV path, bootstrap stream: ${c.name}`, async () => {
    const url = await pgs.createDatabase(`review_cbounds_boot_${i}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `${SETUP} INSERT INTO items (id, ${c.col}, updated_at) VALUES (1, ${c.values[0]}, '2025-01-01 00:00:00+00'), (2, ${c.values[1]}, '2025-01-01 00:00:00+00');`,
      );
      ws.writePipeline('items', PIPELINE);
      await assertKeptOrRefused(ws, url, c.col, 'bootstrap');
    } finally {
      ws.cleanup();
    }
  });
}

test(`CSV path, incremental keyset batch: ${CASES[0].name}`, async () => {
  const url = await pgs.createDatabase('review_cbounds_incr');
  const ws = createWorkspace();
  try {
    await pgs.query(url, `${SETUP} INSERT INTO items (id, h, updated_at) VALUES (2, ${CASES[0].values[1]}, '2025-01-01 00:00:00+00');`);
    ws.writePipeline('items', PIPELINE);
    assert.equal((await run(ws, url)).ok, true, 'bootstrap of the bound-1 row');
    await pgs.query(url, `INSERT INTO items (id, h, updated_at) VALUES (1, ${CASES[0].values[0]}, '2025-02-01 00:00:00+00')`);
    await assertKeptOrRefused(ws, url, 'h', 'incremental batch');
  } finally {
    ws.cleanup();
  }
});

test(`rows path (PGDUCK_DATA_PATH=rows): ${CASES[0].name}; verify then reports the table equal`, async () => {
  const url = await pgs.createDatabase('review_cbounds_rows');
  const ws = createWorkspace();
  process.env.PGDUCK_DATA_PATH = 'rows';
  try {
    await pgs.query(
      url,
      `${SETUP} INSERT INTO items (id, h, updated_at) VALUES (1, ${CASES[0].values[0]}, '2025-01-01 00:00:00+00'), (2, ${CASES[0].values[1]}, '2025-01-01 00:00:00+00');`,
    );
    ws.writePipeline('items', PIPELINE);
    const outcome = await run(ws, url);
    if (outcome.ok) {
      // Verify must not call equal a table whose row 1 lost its bound: DuckDB's row 1 equals Postgres' row 2, not row 1.
      const { pipelines } = loadWorkspace(ws.env(url), []);
      const v = await verifyPipeline(pipelines[0], { limit: 100 });
      const duck = await duckPair(ws, 'h');
      const pg = await pgPair(url, 'h');
      assert.ok(
        !v.equal || duck[0] !== duck[1],
        `rows path: success, DuckDB ${duck[0]} for both ${pg.texts.join(' and ')} (Postgres: equal ${pg.equal}), and verify says equal: ${v.equal}`,
      );
    } else {
      assert.match(outcome.message, /column "h"/);
    }
  } finally {
    delete process.env.PGDUCK_DATA_PATH;
    ws.cleanup();
  }
});
