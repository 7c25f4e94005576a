/**
 * Found by review: reconcile and keys the target does not have yet. Fixed: reconcile no longer looks
 * for (nor counts) missing keys (VerifyOptions.ignoreMissing), and a fine cut never falls between two
 * copies of one key.
 *
 * 1. Reconcile compares key sets with verifyTable(keysOnly) and a limit of ROUND_KEYS (50,000)
 *    differences, then acts on the `extra` ones only. The limit counts `missing` keys too (rows the
 *    source has and the target not yet: a back-dated import, which README says verify lists as
 *    missing, or rows a run has not read yet). When more than 50,000 missing keys come first in key
 *    order, the round fills up with them, lists no `extra` key, and reconcile stops with
 *    `gone.length === 0`: it reports "nothing gone from the source", not stopped, and the
 *    hard-deleted rows stay in DuckDB at every reconcile.
 * 2. A key held twice by a keyless target (`target.key_index: false`) whose second copy is where
 *    compareLeaves cuts a leaf is reported `extra` ("in the target only (hard-deleted in the
 *    source?)") instead of `duplicate`: the cut puts the first copy in the part before.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { duckIds, loadWorkspace, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { verifyPipeline } from '../../src/repair/verify-pipeline.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('reconcile removes hard-deleted rows even when more than a round of keys is missing from the target before them', async () => {
  const url = await pgs.createDatabase('reconcile_missing_first');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON orders (updated_at, id);
       INSERT INTO orders (id, note) SELECT g, 'o' || g FROM generate_series(100001, 100200) AS g;`,
    );
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\nbatch_size: 20000\n');
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'orders')).length, 200);

    // A back-dated import (cursor behind the checkpoint: never read by the keyset, README "Guarantees"),
    // with keys before the synced ones; then 50 synced rows are hard-deleted.
    await pgs.query(
      url,
      `INSERT INTO orders (id, note, updated_at) SELECT g, 'import', '2001-01-01 00:00:00+00' FROM generate_series(1, 55000) AS g;
       DELETE FROM orders WHERE id BETWEEN 100101 AND 100150;`,
    );
    const [record] = await reconcileOnce(ws, url);

    const target = await duckIds(ws, 'orders');
    const left = target.filter((id) => id >= 100101 && id <= 100150);
    assert.deepEqual(
      { gone: record.gone, removed: record.removed, stillInDuckDb: left.length },
      { gone: 50, removed: 50, stillInDuckDb: 0 },
      `reconcile reported ${JSON.stringify({ gone: record.gone, removed: record.removed, stopped: record.stopped })} while ${left.length} hard-deleted rows stay in DuckDB`,
    );
  } finally {
    ws.cleanup();
  }
});

test('a key held twice by a keyless target is reported duplicate, not extra, wherever the leaf is cut', async () => {
  const url = await pgs.createDatabase('keyless_dup_cut');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items (id, note) SELECT g, 'i' || g FROM generate_series(1, 200) AS g;`,
    );
    ws.writePipeline(
      'items',
      'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: items\n  key_index: false\nbatch_size: 1000\n',
    );
    await runOnce(ws, url);
    // Key 8 twice: the second copy is the 9th key of the target, where compareLeaves cuts (every 8 keys).
    await withDuckDbFile(ws.duckdbPath, (s) => s.run('INSERT INTO items SELECT * FROM items WHERE id = 8'));

    const { pipelines } = loadWorkspace(ws.env(url), []);
    const v = await verifyPipeline(pipelines[0]);
    const kinds = v.verdict?.differences.map((d) => [d.kind, d.key.id]);
    // And --repair leaves exactly one copy of it.
    const res = await runCli(['verify', '--repair', 'items'], ws.env(url));
    const ids = await duckIds(ws, 'items');
    assert.deepEqual(
      { equal: v.equal, kinds, repairExit: res.code, rows: ids.length, copiesOf8: ids.filter((id) => id === 8).length },
      { equal: false, kinds: [['duplicate', '8']], repairExit: 0, rows: 200, copiesOf8: 1 },
      res.stdout,
    );
  } finally {
    ws.cleanup();
  }
});
