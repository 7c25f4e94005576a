/**
 * Generated columns given a new expression (found by review), Postgres 18. `ALTER TABLE … ALTER COLUMN …
 * SET EXPRESSION AS (…)` changes the value of that column in every row. For a STORED column
 * Postgres rewrites the table (new relfilenode: the source guard re-reads every row). For a VIRTUAL
 * column (Postgres 18, the default kind there) nothing is rewritten and no cursor moves: the value is
 * computed at read time, so every row a keyed read returns changed at once, with the same relfilenode.
 * DuckDB kept the old values, every run ok. The source identity now holds a digest of the virtual
 * columns' expressions (src/postgres/source-identity.ts): a change re-reads every row, as a rewrite does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const PIPELINE = 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 5\n';

async function duckTotals(duckdbPath: string): Promise<string> {
  return withDuckDbFile(
    duckdbPath,
    async (s) => JSON.stringify(((await s.all(`SELECT list(total ORDER BY id) AS t FROM items`))[0].t as unknown[]).map(Number)),
    { readOnly: true },
  );
}

for (const kind of ['VIRTUAL', 'STORED'] as const) {
  test(`a ${kind} generated column given a new expression: the next successful run holds the new values`, async () => {
    const url = await pgs.createDatabase(`gen_expr_${kind.toLowerCase()}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE items (id int PRIMARY KEY, price int NOT NULL, total int GENERATED ALWAYS AS (price * 2) ${kind},
                             updated_at timestamptz NOT NULL DEFAULT now());
         CREATE INDEX ON items (updated_at, id);
         INSERT INTO items (id, price, updated_at) SELECT g, g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 12) AS g;`,
      );
      ws.writePipeline('items', PIPELINE);
      const first = await runOutcome(ws, url);
      assert.ok(first.ok, `first run: ${first.ok ? '' : first.message}`);
      const before = (await pgs.query(url, `SELECT pg_relation_filenode('items')::text AS f`)).rows[0].f;

      await pgs.query(url, `ALTER TABLE items ALTER COLUMN total SET EXPRESSION AS (price * 3)`);
      const after = (await pgs.query(url, `SELECT pg_relation_filenode('items')::text AS f`)).rows[0].f;
      assert.equal(after === before, kind === 'VIRTUAL', 'a virtual column is not rewritten; a stored one is');

      const second = await runOutcome(ws, url);
      assert.ok(second.ok, second.ok ? '' : second.message);
      const source = JSON.stringify((await pgs.query(url, 'SELECT total FROM items ORDER BY id')).rows.map((r) => Number(r.total)));
      assert.equal(await duckTotals(ws.duckdbPath), source, `DuckDB's items.total after a successful run (expected the source's ${source})`);
    } finally {
      ws.cleanup();
    }
  });
}
