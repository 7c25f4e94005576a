/**
 * A nullable cursor holding NULLs (a legacy `updated_at`): the keyset never sees such rows, so
 * before the null-cursor sweep a row inserted with a NULL cursor after the bootstrap was silently
 * never synced. With `null_cursor: include` (the default) every run reads them by key; an unchanged
 * sweep writes nothing; `fail` stops the pipeline naming a key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const SQL = `
CREATE TABLE legacy (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz);
CREATE INDEX ON legacy (updated_at, id);
INSERT INTO legacy
SELECT i, 'row ' || i, CASE WHEN i % 2 = 0 THEN NULL ELSE clock_timestamp() - interval '1 hour' + i * interval '1 second' END
FROM generate_series(1, 9) AS i;`;

const PIPELINE = (mode?: string) =>
  `source:\n  table: public.legacy\n  primary_key: id\n${mode ? `  null_cursor: ${mode}\n` : ''}target:\n  table: legacy\nbatch_size: 2\n`;

describe('rows with a NULL cursor', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('include (default): bootstrap, later NULL-cursor inserts and updates are synced; an unchanged sweep writes nothing', async () => {
    const url = await pgs.createDatabase('null_cursor');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    const files = () => readdirSync(join(ws.parquetDir, 'legacy')).sort();
    const target = () =>
      withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT id, note, updated_at IS NULL AS null_cursor FROM legacy ORDER BY id`), { readOnly: true });
    try {
      ws.writePipeline('legacy', PIPELINE());
      await runOnce(ws, url);
      const rows = await target();
      assert.deepEqual(
        rows.map((r) => [r.id, r.note, r.null_cursor]),
        Array.from({ length: 9 }, (_, i) => [i + 1, `row ${i + 1}`, (i + 1) % 2 === 0]),
      );
      const checkpoint = readCheckpoint(ws, 'legacy');
      assert.equal(checkpoint?.position?.key[0], '9', 'the checkpoint is the last row with a cursor, never a NULL-cursor row');
      // 5 rows with a cursor in batches of 2 (3 files) + 4 NULL-cursor rows in chunks of 2 (2 files).
      assert.equal(files().length, 5, files().join(' '));
      await assertVerified(ws, url);

      // Nothing changed: the sweep reads the NULL-cursor rows again and writes nothing.
      await runOnce(ws, url);
      assert.equal(files().length, 5, `an unchanged sweep writes no file: ${files().join(' ')}`);

      // After the bootstrap: a NULL-cursor insert (before the sweep existed: never synced), a NULL-cursor
      // update, and a NULL-cursor row given a cursor.
      await pgs.query(
        url,
        `INSERT INTO legacy VALUES (20, 'late, no cursor', NULL);
         UPDATE legacy SET note = 'changed, still no cursor' WHERE id = 4;
         UPDATE legacy SET note = 'got a cursor', updated_at = clock_timestamp() - interval '10 minutes' WHERE id = 6;`,
      );
      await runOnce(ws, url);
      const after = new Map((await target()).map((r) => [r.id, [r.note, r.null_cursor]]));
      assert.deepEqual(after.get(20), ['late, no cursor', true]);
      assert.deepEqual(after.get(4), ['changed, still no cursor', true]);
      assert.deepEqual(after.get(6), ['got a cursor', false]);
      assert.equal(after.size, 10);
      await assertVerified(ws, url);

      // A hard delete is reconcile's job, not the sweep's; a row that lost its cursor again is re-read.
      await pgs.query(url, `UPDATE legacy SET updated_at = NULL, note = 'lost its cursor' WHERE id = 6`);
      await runOnce(ws, url);
      assert.deepEqual((await target()).find((r) => r.id === 6)?.note, 'lost its cursor');
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });

  test('fail: the run stops with a needs-action error naming a key; the rows with a cursor are kept', async () => {
    const url = await pgs.createDatabase('null_cursor_fail');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('legacy', PIPELINE('fail'));
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.match(res.stdout, /a row has a NULL cursor updated_at \(key id=2\)/);
      assert.match(res.stdout, /null_cursor: include/);
      const ids = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT list(id ORDER BY id) AS ids FROM legacy`), { readOnly: true });
      assert.deepEqual(ids[0].ids, [1, 3, 5, 7, 9]);

      const validate = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
      assert.equal(validate.code, 1, validate.stdout);
      assert.match(validate.stdout, /NULL in some rows and source\.null_cursor is fail/);
      ws.writePipeline('legacy', PIPELINE());
      const warned = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
      assert.equal(warned.code, 0, warned.stdout);
      assert.match(warned.stdout, /read by primary key on every run/);
    } finally {
      ws.cleanup();
    }
  });
});
