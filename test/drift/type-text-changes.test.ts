/**
 * Found by review (values changed silently, stale rows): catalog changes that change the text of
 * every row holding a type, without a table rewrite (relfilenode kept) or a cursor move:
 * - an enum field of a composite column (the column travels as to_json(c), which prints the label),
 * - an enum under a domain over a domain, or as the element of an array of a domain over it,
 * - a range type over an enum,
 * - `ALTER TYPE <composite> RENAME ATTRIBUTE` (to_json prints the field names),
 * - `ALTER TYPE <composite> ADD ATTRIBUTE` (to_json prints every field, the new one as null).
 * Postgres allows each while a table column uses the type, and rewrites nothing; the next run
 * reported success and DuckDB kept the old text for good. The source identity now walks every type
 * the columns reach (src/postgres/source-identity.ts, TYPES_SQL): a renamed label or a changed
 * composite is re-read as a rewrite is.
 *
 * Each test: bootstrap (CSV path), the catalog change, another run; DuckDB's value must equal
 * Postgres' text of the value as the extract prints it now.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const PIPELINE = 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\nbatch_size: 10\n';

const SETUP = `CREATE TYPE mood AS ENUM ('happy', 'sad');
  CREATE TYPE holder AS (tag text, m mood);
  CREATE DOMAIN mood_d AS mood;
  CREATE DOMAIN mood_dd AS mood_d;
  CREATE TYPE moodrange AS RANGE (subtype = mood);
  CREATE TABLE items (id int PRIMARY KEY, h holder, dd mood_dd, r moodrange, ad mood_d[], updated_at timestamptz NOT NULL);
  CREATE INDEX ON items (updated_at, id);
  INSERT INTO items VALUES (1, ROW('x', 'happy'), 'happy', '[happy,sad]', '{happy,sad}', '2025-01-01 00:00:00+00'),
                           (2, ROW('y', 'sad'), 'sad', '[sad,sad]', '{sad}', '2025-01-01 00:00:00+00');`;

const CASES: { name: string; col: string; pgText: string; change: string; duck?: string }[] = [
  { name: 'an enum label renamed, held in a composite column', col: 'h', pgText: `to_json(h)::text`, change: `ALTER TYPE mood RENAME VALUE 'happy' TO 'glad'` },
  {
    name: 'an enum label renamed, the column a domain over a domain over the enum',
    col: 'dd',
    pgText: `dd::text`,
    change: `ALTER TYPE mood RENAME VALUE 'happy' TO 'glad'`,
  },
  {
    name: 'an enum label renamed, the column an array of a domain over the enum',
    col: 'ad',
    pgText: `array_to_json(ad)::text`,
    change: `ALTER TYPE mood RENAME VALUE 'happy' TO 'glad'`,
    duck: `CAST(to_json(ad) AS VARCHAR)`,
  },
  { name: 'an enum label renamed, the column a range over the enum', col: 'r', pgText: `r::text`, change: `ALTER TYPE mood RENAME VALUE 'happy' TO 'glad'` },
  {
    name: 'a composite attribute renamed (ALTER TYPE … RENAME ATTRIBUTE)',
    col: 'h',
    pgText: `to_json(h)::text`,
    change: `ALTER TYPE holder RENAME ATTRIBUTE tag TO label`,
  },
  {
    name: 'a composite attribute added (ALTER TYPE … ADD ATTRIBUTE)',
    col: 'h',
    pgText: `to_json(h)::text`,
    change: `ALTER TYPE holder ADD ATTRIBUTE extra int`,
  },
];

for (const [i, c] of CASES.entries()) {
  test(`${c.name}: the next run brings DuckDB's ${c.col} to Postgres' new text`, async () => {
    const url = await pgs.createDatabase(`type_text_${i}`);
    const ws = createWorkspace();
    try {
      await pgs.query(url, SETUP);
      ws.writePipeline('items', PIPELINE);
      const source = async () =>
        (await pgs.query(url, `SELECT id, ${c.pgText} AS v FROM items ORDER BY id`)).rows.map((r) => ({ id: Number(r.id), v: String(r.v) }));
      const target = () =>
        withDuckDbFile(
          ws.duckdbPath,
          async (s) =>
            (await s.all(`SELECT id, ${c.duck ?? `CAST(${c.col} AS VARCHAR)`} AS v FROM items ORDER BY id`)).map((r) => ({ id: Number(r.id), v: String(r.v) })),
          { readOnly: true },
        );
      await runOnce(ws, url);
      assert.deepEqual(await target(), await source(), 'bootstrap: as in Postgres');
      const relfilenode = async () => String((await pgs.query(url, `SELECT relfilenode FROM pg_class WHERE relname = 'items'`)).rows[0].relfilenode);
      const before = await relfilenode();
      await pgs.query(url, c.change);
      assert.equal(await relfilenode(), before, 'Postgres rewrote nothing');
      const now = await source();
      const { stdout } = await runOnce(ws, url);
      assert.deepEqual(await target(), now, `after \`${c.change}\` and a successful run (${stdout.trim()}): DuckDB keeps the old text`);
    } finally {
      ws.cleanup();
    }
  });
}
