/**
 * Found by the review of this stop's changes (regression of c51eb05, type-map.ts roundTrips): a composite value is now sent only when
 * json_populate_record(c, to_json(c))::text equals c::text; otherwise the load stops naming the column.
 * Legitimate composite values that do not round-trip that way (no array bound involved) used to sync
 * exactly (to_json) and now stop the pipeline for good:
 * - a `json` field whose text has whitespace around the value (json keeps its input text; to_json
 *   embeds it verbatim, json_populate_record takes only the value's token back);
 * - a field of a domain whose CHECK was added NOT VALID, an existing value violating it
 *   (json_populate_record re-checks the domain: the whole read errors).
 * Each: the run must succeed and DuckDB hold to_json(c) as Postgres gives it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** One run of the workspace's pipelines; the outcome (ok or the failure message), never an assertion. */
async function run(ws: Workspace, url: string): Promise<{ ok: boolean; message: string }> {
  const o = await runOutcome(ws, url);
  return { ok: o.ok, message: o.ok ? '' : o.message };
}

const PIPELINE = 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 1\n';

const CASES = [
  {
    name: 'a json field with whitespace around its value',
    setup: `CREATE TYPE holder AS (tag text, doc json);`,
    value: `ROW('a', ' {"k": 1} ')::holder`,
  },
  {
    name: 'a field of a domain whose CHECK was added NOT VALID (an existing value violates it)',
    setup: `CREATE DOMAIN small AS int; CREATE TYPE holder AS (tag text, n small);`,
    value: `ROW('a', 50)::holder`,
    after: `ALTER DOMAIN small ADD CONSTRAINT small_max CHECK (VALUE < 10) NOT VALID;`,
  },
];

for (const [i, c] of CASES.entries()) {
  for (const path of ['csv', 'rows'] as const) {
    test(`${path} path: ${c.name} syncs as it did before (to_json)`, async () => {
      const url = await pgs.createDatabase(`review_crt_${path}_${i}`);
      const ws = createWorkspace();
      if (path === 'rows') process.env.PGDUCK_DATA_PATH = 'rows';
      try {
        await pgs.query(
          url,
          `${c.setup} CREATE TABLE items (id int PRIMARY KEY, h holder, updated_at timestamptz NOT NULL);
           INSERT INTO items VALUES (1, ${c.value}, '2025-01-01 00:00:00+00'); ${c.after ?? ''}`,
        );
        ws.writePipeline('items', PIPELINE);
        const outcome = await run(ws, url);
        assert.equal(outcome.ok, true, `the run stopped on a composite value Postgres holds and to_json sends exactly: ${outcome.message}`);
        const want = String((await pgs.query(url, `SELECT to_json(h)::text AS v FROM items WHERE id = 1`)).rows[0].v);
        const got = await withDuckDbFile(ws.duckdbPath, async (s) => String((await s.all(`SELECT CAST(h AS VARCHAR) AS v FROM items WHERE id = 1`))[0].v), {
          readOnly: true,
        });
        assert.deepEqual(JSON.parse(got), JSON.parse(want));
      } finally {
        delete process.env.PGDUCK_DATA_PATH;
        ws.cleanup();
      }
    });
  }
}
