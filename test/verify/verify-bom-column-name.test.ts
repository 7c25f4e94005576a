/**
 * Found by review (fixed: DuckDB texts verify and describeTarget read are sent with a character first, src/duckdb/range-digest.ts `exact`): a column whose name starts with U+FEFF (a table created from a CSV header
 * written with a byte-order mark: its first column is "\uFEFFcode"). pgduck reads the target's
 * column names back through @duckdb/node-api (describeTarget: DESCRIBE), whose default TextDecoder
 * drops a leading U+FEFF. Verify must still compare that column: a wrong value in DuckDB is found
 * (observed: the column is `not compared`, "in the source only", and "code" "in the target only",
 * and verify says equal); and the next run must not fail (observed: every later run fails in
 * drift-check, "Column with name \uFEFFcode already exists", trying to add it again).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { loadWorkspace, runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { verifyPipeline } from '../../src/repair/verify-pipeline.js';

let pgs: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pgs = await startPostgres();
  url = await pgs.createDatabase('bom_column');
  await pgs.query(
    url,
    `CREATE TABLE imported (id int PRIMARY KEY, "${'\uFEFF'}code" text, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON imported (updated_at, id);
     INSERT INTO imported (id, "${'\uFEFF'}code") SELECT g, 'c' || g FROM generate_series(1, 20) AS g;`,
  );
  ws = createWorkspace();
  ws.writePipeline('imported', 'source:\n  table: public.imported\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: imported\n');
});
after(async () => {
  ws?.cleanup();
  await pgs?.stop();
});

const verify = async () => {
  const { pipelines } = loadWorkspace(ws.env(url), []);
  return verifyPipeline(pipelines[0]);
};

test('after the first run, a wrong value in the U+FEFF-named column is found by verify', async () => {
  const first = await runOutcome(ws, url);
  assert.equal(first.ok, true, first.ok ? '' : first.message);
  await withDuckDbFile(ws.duckdbPath, (s) => s.run(`UPDATE imported SET "${'\uFEFF'}code" = 'wrong' WHERE id = 5`));
  try {
    const v = await verify();
    assert.deepEqual(
      {
        equal: v.equal,
        error: v.error ?? null,
        differences: v.verdict?.differences.map((d) => [d.kind, d.key.id, d.columns]) ?? null,
        uncompared: v.uncompared.map((u) => `${JSON.stringify(u.name)}: ${u.reason}`),
      },
      { equal: false, error: null, differences: [['changed', '5', ['\uFEFFcode']]], uncompared: [] },
    );
  } finally {
    await withDuckDbFile(ws.duckdbPath, (s) => s.run(`UPDATE imported SET "${'\uFEFF'}code" = 'c5' WHERE id = 5`));
  }
});

test('a second run after an update syncs it (the drift check does not add the column again)', async () => {
  await pgs.query(url, `UPDATE imported SET "${'\uFEFF'}code" = 'new', updated_at = now() WHERE id = 1`);
  const second = await runOutcome(ws, url);
  assert.equal(second.ok ? 'ok' : second.message, 'ok');
  const v = await verify();
  assert.equal(v.equal, true);
});
