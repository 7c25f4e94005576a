/**
 * Found by review: a row is tombstoned when its soft_delete column is not NULL, so a boolean flag
 * (`is_deleted boolean NOT NULL DEFAULT false`) or any NOT NULL column tombstoned every row: under
 * soft_delete_mode remove the DuckDB table emptied and verify agreed (both sides left them out). Such
 * a column is now refused by validate --connect and by the run, before anything is read. And an
 * interval primary key with the default key index failed as an internal error ("Invalid type for
 * index key"): refused up front, KEY_NOT_INDEXABLE, as an array key is.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { runOutcome } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

for (const [name, column] of [
  ['boolean', 'is_deleted boolean NOT NULL DEFAULT false'],
  ['NOT NULL', "is_deleted timestamptz NOT NULL DEFAULT 'infinity'"],
] as const) {
  test(`a ${name} soft_delete column is refused before anything is read: every row would count as deleted`, async () => {
    const url = await pgs.createDatabase(`tombstone_${name === 'boolean' ? 'bool' : 'notnull'}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE orders (id int PRIMARY KEY, ${column}, updated_at timestamptz NOT NULL);
         CREATE INDEX ON orders (updated_at, id);
         INSERT INTO orders (id, updated_at) SELECT g, '2025-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
      );
      ws.writePipeline(
        'orders',
        'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\n  soft_delete: is_deleted\n  soft_delete_mode: remove\ntarget:\n  table: orders\n',
      );
      const validate = await runCli(['validate', '--connect'], ws.env(url));
      assert.equal(validate.code, 1, validate.stdout + validate.stderr);
      assert.match(validate.stdout + validate.stderr, /soft_delete column "?is_deleted"? is (a boolean|NOT NULL): .*every row would count as deleted/);
      const run = await runOutcome(ws, url);
      assert.equal(run.ok, false, 'refused');
      if (run.ok) return;
      assert.equal(run.code, 'SOURCE_REFUSED', run.message);
      assert.match(run.message, /every row would count as deleted/);
    } finally {
      ws.cleanup();
    }
  });
}

test('an interval primary key with the default key index: refused as KEY_NOT_INDEXABLE, not an internal error; key_index: false syncs it', async () => {
  const url = await pgs.createDatabase('interval_key');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE spans (span interval PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
       CREATE INDEX ON spans (updated_at, span);
       INSERT INTO spans SELECT g * interval '1 hour', 'n' || g, '2025-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 5) AS g;`,
    );
    const file = (extra: string) => `source:\n  table: public.spans\n  primary_key: span\n  cursor: updated_at\ntarget:\n  table: spans\n${extra}`;
    ws.writePipeline('spans', file(''));
    const refused = await runOutcome(ws, url);
    assert.equal(refused.ok, false);
    if (refused.ok) return;
    assert.equal(refused.code, 'KEY_NOT_INDEXABLE', refused.message);
    assert.equal(refused.kind, 'needs-action');
    ws.writePipeline('spans', file('  key_index: false\n'));
    const synced = await runOutcome(ws, url);
    assert.ok(synced.ok, synced.ok ? '' : synced.message);
    assert.equal(synced.summary.rows, 5);
  } finally {
    ws.cleanup();
  }
});
