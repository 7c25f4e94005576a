/**
 * Found by review: pipeline files renamed over months. Two pipelines whose files
 * swap names (a.yml ↔ b.yml) each find a checkpoint written for the other's source and table. With
 * `on_recreate: rebootstrap` (a shared default for nightly-reloaded tables) the source guard takes the
 * other table's oid for a re-creation and drops the DuckDB table before anything notices that the
 * checkpoint was written for another target: rows only DuckDB holds (hard_delete_mode: mark keeps
 * rows deleted from the source, marked) were gone, without any command that drops a table. Now the
 * target check (the checkpoint's table against the file's) comes first: each pipeline starts over as
 * a bootstrap into its table, upserting over it, and nothing is dropped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { reconcileOnce, runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const pipeline = (source: string) =>
  `source:\n  table: public.${source}\n  primary_key: id\n  on_recreate: rebootstrap\n  hard_delete_mode: mark\ntarget:\n  table: ${source}\nbatch_size: 5\n`;

test('two pipeline files swap names: no DuckDB table is dropped, marked rows stay', async () => {
  const url = await pgs.createDatabase('renamed_swap');
  const ws = createWorkspace();
  try {
    for (const t of ['apples', 'pears']) {
      await pgs.query(
        url,
        `CREATE TABLE ${t} (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX ON ${t} (updated_at, id);
         INSERT INTO ${t} SELECT g, '${t}', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 10) AS g;`,
      );
    }
    ws.writePipeline('a', pipeline('apples'));
    ws.writePipeline('b', pipeline('pears'));
    assert.equal((await runOutcome(ws, url)).ok, true);
    // A pear deleted from the source: reconcile keeps it in DuckDB, marked.
    await pgs.query(url, `DELETE FROM pears WHERE id = 2`);
    const recs = await reconcileOnce(ws, url);
    assert.equal(recs.find((r) => r.pipeline === 'b')?.marked, 1);
    // The files swap names (a tidy-up: a.yml now holds the pears pipeline, b.yml the apples one).
    renameSync(join(ws.pipelinesDir, 'a.yml'), join(ws.pipelinesDir, 'tmp.yml'));
    renameSync(join(ws.pipelinesDir, 'b.yml'), join(ws.pipelinesDir, 'a.yml'));
    renameSync(join(ws.pipelinesDir, 'tmp.yml'), join(ws.pipelinesDir, 'b.yml'));
    const outcome = await runOutcome(ws, url);
    const marked = await withDuckDbFile(
      ws.duckdbPath,
      async (s) => (await s.all(`SELECT list(id ORDER BY id) AS ids FROM pears WHERE _pgduck_deleted_at IS NOT NULL`))[0].ids as number[],
      { readOnly: true },
    );
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
    assert.deepEqual(marked, [2], 'the marked pear is still in DuckDB');
    const rows = await withDuckDbFile(
      ws.duckdbPath,
      async (s) => (await s.all(`SELECT (SELECT count(*) FROM apples)::INT AS apples, (SELECT count(*) FROM pears)::INT AS pears`))[0],
      { readOnly: true },
    );
    assert.deepEqual(rows, { apples: 10, pears: 10 }, 'every row still where it was');
  } finally {
    ws.cleanup();
  }
});
