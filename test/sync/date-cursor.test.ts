/**
 * Found by review: a `date` cursor (`updated_on date DEFAULT current_date`, moved by a trigger) does
 * not grow on every change: every update of one day keeps the value the checkpoint already holds. A
 * row updated later that day whose key sorts before the checkpoint's key was behind the position
 * `(cursor, key)` and never read, every run reporting success. The commit-safe horizon now bounds a
 * date cursor too: the checkpoint never passes the day before the horizon's (src/postgres/horizon.ts),
 * so the rows of the current day are read again every run until it is over.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { readCheckpoint, runOutcome } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a date cursor: an update on the day of the last sync is synced', async () => {
  const url = await pgs.createDatabase('review_date_cursor');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, n int NOT NULL, updated_on date NOT NULL DEFAULT current_date);
       CREATE INDEX ON items (updated_on, id);
       CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_on := current_date; RETURN NEW; END $$;
       CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
       INSERT INTO items (id, n) SELECT g, g FROM generate_series(1, 5) AS g;`,
    );
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_on\ntarget:\n  table: items\nbatch_size: 10\n');
    const first = await runOutcome(ws, url);
    assert.ok(first.ok, first.ok ? '' : first.message);
    // Today's rows are above the horizon: read, and the checkpoint stays before them.
    assert.equal(readCheckpoint(ws, 'items')?.position, null);
    await pgs.query(url, `UPDATE items SET n = 200 WHERE id = 2`);
    const second = await runOutcome(ws, url);
    assert.ok(second.ok, second.ok ? '' : second.message);
    const n2 = await withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all('SELECT n FROM items WHERE id = 2'))[0].n), { readOnly: true });
    assert.equal(n2, 200, 'row 2 as Postgres holds it after its update (the run reported success)');
    // A day that is over is safe: rows dated yesterday are checkpointed.
    await pgs.query(url, `ALTER TABLE items DISABLE TRIGGER items_touch; UPDATE items SET updated_on = current_date - 3 WHERE id <= 3`);
    const third = await runOutcome(ws, url);
    assert.ok(third.ok, third.ok ? '' : third.message);
    const at = readCheckpoint(ws, 'items')?.position;
    const threeDaysAgo = (await pgs.query(url, `SELECT (current_date - 3)::text AS d`)).rows[0].d as string;
    assert.deepEqual([at?.cursor, at?.key], [threeDaysAgo, ['3']]);
  } finally {
    ws.cleanup();
  }
});
