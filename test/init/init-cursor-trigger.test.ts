/**
 * A cursor nothing moves on update (found by review): init chose `updated_at timestamptz NOT NULL
 * DEFAULT now()` on a table with no trigger, without a word, and every UPDATE after the bootstrap
 * that did not set it stayed out of DuckDB, every run ok. init now warns when no BEFORE UPDATE row
 * trigger is on the table, with the trigger that fixes it; that SQL run, an update syncs. A table
 * with such a trigger gets no warning.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { initCommand } from '../../src/commands/init.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('init_cursor_trigger');
  await pg.query(
    url,
    `CREATE TABLE plans (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(), price int NOT NULL);
     CREATE INDEX ON plans (updated_at, id);
     INSERT INTO plans (id, price, updated_at) SELECT g, 10, now() - interval '1 hour' FROM generate_series(1, 3) g;
     CREATE TABLE kept (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON kept (updated_at, id);
     CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
     CREATE TRIGGER kept_touch BEFORE UPDATE ON kept FOR EACH ROW EXECUTE FUNCTION touch();`,
  );
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

test('init warns of a cursor no trigger moves, with the trigger; once it is made, an update syncs', async () => {
  const out = new PassThrough();
  let said = '';
  out.on('data', (d) => (said += d));
  assert.equal(await initCommand({ databaseUrl: url, out: ws.pipelinesDir, schemas: ['public'], tables: [], force: false }, out, out), 0, said);
  const warnings = said.split('\n').filter((l) => /no BEFORE UPDATE trigger/.test(l));
  assert.equal(warnings.length, 1, said);
  assert.match(warnings[0], /warning: no BEFORE UPDATE trigger on "public"\."plans" sets "updated_at": .* an update that does not set it is never synced/);
  const fix = said.split('\n').filter((l) => /^ {4}CREATE /.test(l) && /pgduck_touch_updated_at|plans_touch_updated_at/.test(l));
  assert.equal(fix.length, 2, said);

  await runOnce(ws, url);
  await pg.query(url, fix.map((l) => l.trim()).join('\n'));
  await pg.query(url, 'UPDATE plans SET price = 99 WHERE id = 2');
  await new Promise((r) => setTimeout(r, 1500)); // past the horizon margin
  await runOnce(ws, url);
  const prices = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all('SELECT list(price ORDER BY id) AS p FROM plans'))[0].p, { readOnly: true });
  assert.deepEqual(prices, [10, 99, 10]);
});
