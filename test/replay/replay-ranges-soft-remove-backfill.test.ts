/**
 * From a review (no defect found): `soft_delete_mode: remove`, a tombstone set, synced, set back to NULL and synced again, with a
 * backfill (a column added with a DEFAULT) in between. The synced table equals the source; then
 * `replay --from s --to s` of every history file onto the synced table must change nothing (the
 * documented property of a monotonic replay), and `replay --drop-target` must rebuild the synced table.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, runOnce } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';
import { listHistory } from '../../src/parquet/history-files.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('soft_delete_mode remove, a tombstone cleared later, a backfill: every single-file replay changes nothing, a rebuild equals the synced table', async () => {
  const url = await pgs.createDatabase('replay_soft_remove_ranges');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
       CREATE TABLE items (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), deleted_at timestamptz);
       CREATE INDEX ON items (updated_at, id);
       CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
       INSERT INTO items (id, note) SELECT g, 'v1' FROM generate_series(1, 30) AS g;`,
    );
    ws.writePipeline(
      'items',
      'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\n  soft_delete: deleted_at\n  soft_delete_mode: remove\ntarget:\n  table: items\nbatch_size: 10\n',
    );
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE items SET deleted_at = now() WHERE id IN (3, 4, 15)`);
    await runOnce(ws, url);
    await pgs.query(url, `ALTER TABLE items ADD COLUMN region text NOT NULL DEFAULT 'eu'`);
    await pgs.query(url, `UPDATE items SET note = 'v2' WHERE id IN (7, 8)`);
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE items SET deleted_at = NULL, note = 'revived' WHERE id IN (3, 15)`);
    await runOnce(ws, url);
    await pgs.query(url, `UPDATE items SET deleted_at = now() WHERE id = 15; UPDATE items SET region = 'us' WHERE id = 9`);
    await runOnce(ws, url);
    await assertVerified(ws, url);
    await pgs.query(url, `CREATE VIEW living AS SELECT * FROM items WHERE deleted_at IS NULL`);
    const expected = await compareTables(url, 'living', ws.duckdbPath, 'items', ['id']);
    assert.deepEqual(expected.mismatches, [], 'the synced table holds the living rows');

    const problems: string[] = [];
    const seqs = [...new Set(listHistory(ws.parquetDir, 'items').files.map((f) => f.seq))].sort((a, b) => a - b);
    for (const s of seqs) {
      const out = await runCli(['replay', 'items', '--from', String(s), '--to', String(s)], ws.env(url));
      if (out.code !== 0) {
        problems.push(`replay ${s}…${s} failed: ${out.stderr.slice(-400)}`);
        continue;
      }
      const diff = await compareTables(url, 'living', ws.duckdbPath, 'items', ['id']);
      if (diff.mismatches.length > 0 || diff.pgRows !== diff.duckRows)
        problems.push(`after replay ${s}…${s}: pg ${diff.pgRows} rows, duckdb ${diff.duckRows}: ${diff.mismatches.slice(0, 5).join('; ')}`);
    }
    const rebuilt = await runCli(['replay', 'items', '--drop-target'], ws.env(url));
    if (rebuilt.code !== 0) problems.push(`replay --drop-target failed: ${rebuilt.stderr.slice(-400)}`);
    else {
      const diff = await compareTables(url, 'living', ws.duckdbPath, 'items', ['id']);
      if (diff.mismatches.length > 0 || diff.pgRows !== diff.duckRows)
        problems.push(`after replay --drop-target: pg ${diff.pgRows} rows, duckdb ${diff.duckRows}: ${diff.mismatches.slice(0, 5).join('; ')}`);
    }
    assert.deepEqual(problems, [], `history seqs ${seqs.join(', ')}`);
  } finally {
    ws.cleanup();
  }
});
