/**
 * Found by review (pipelines sharing one DuckDB file): a target table recorded its source as
 * `schema.table` only (its comment `pgduck source public.orders`). Two pipelines reading tables of one name from two
 * databases (or `"a.b".c` and `a."b.c"` in one) record the same source, so when they swap their
 * target tables the bootstrap each starts is not refused (TARGET_TAKEN): each table then holds both
 * sources' rows, and the run reported success. A target now records its source as JSON of the schema,
 * the table, the database and the cluster (sourceRecord, src/stages/target-lost.ts): the swap is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds } from '../support/sync-checks.js';

const table = (ids: string, name = 'public.orders') => `
CREATE TABLE ${name} (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON ${name} (updated_at, id);
INSERT INTO ${name} SELECT i, 'n' || i, clock_timestamp() - interval '1 hour' + i * interval '1 second' FROM ${ids} AS i;`;

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const pipeline = (source: string, target: string, connection?: string) =>
  `source:\n  table: '${source}'\n  primary_key: id\n${connection ? `  connection: ${connection}\n` : ''}target:\n  table: ${target}\nbatch_size: 3\n`;

async function swapAndCheck(ws: Workspace, url: string, a: [string, string?], b: [string, string?], aIds: number[], bIds: number[]) {
  ws.writePipeline('a', pipeline(a[0], 'one', a[1]));
  ws.writePipeline('b', pipeline(b[0], 'two', b[1]));
  const first = await runCli(['run', '--once'], ws.env(url));
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.deepEqual(await duckIds(ws, 'one'), aIds);
  assert.deepEqual(await duckIds(ws, 'two'), bIds);

  // The two files swap their target tables.
  ws.writePipeline('a', pipeline(a[0], 'two', a[1]));
  ws.writePipeline('b', pipeline(b[0], 'one', b[1]));
  const second = await runCli(['run', '--once'], ws.env(url));
  // Each new target holds another source's rows: refused (needs-action), both tables left as they were.
  assert.equal(second.code, 4, second.stdout + second.stderr);
  assert.match(second.stdout + second.stderr, /TARGET_TAKEN/);
  assert.deepEqual(await duckIds(ws, 'one'), aIds, 'refused: table one left as it was');
  assert.deepEqual(await duckIds(ws, 'two'), bIds, 'refused: table two left as it was');
}

test('two databases, both public.orders, swap their targets: refused (TARGET_TAKEN), both tables kept', async () => {
  const db1 = await pgs.createDatabase('review13_db1');
  const db2 = await pgs.createDatabase('review13_db2');
  await pgs.query(db1, table('generate_series(1, 4)'));
  await pgs.query(db2, table('generate_series(101, 103)'));
  const ws = createWorkspace();
  try {
    await swapAndCheck(ws, db1, ['public.orders', db1], ['public.orders', db2], [1, 2, 3, 4], [101, 102, 103]);
  } finally {
    ws.cleanup();
  }
});

test('"a.b".c and a."b.c" in one database swap their targets: refused (TARGET_TAKEN), both tables kept', async () => {
  const db = await pgs.createDatabase('review13_dots');
  await pgs.query(db, `CREATE SCHEMA "a.b"; CREATE SCHEMA a;${table('generate_series(1, 4)', '"a.b".c')}${table('generate_series(101, 103)', 'a."b.c"')}`);
  const ws = createWorkspace();
  try {
    await swapAndCheck(ws, db, ['"a.b".c'], ['a."b.c"'], [1, 2, 3, 4], [101, 102, 103]);
  } finally {
    ws.cleanup();
  }
});
