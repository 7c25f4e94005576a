/**
 * Guards kept from a review (passing): the file's progress record (main._pgduck_progress) against the checkpoint's
 * target_batches. A healthy pipeline must never be bootstrapped again ("the checkpoint was reset and
 * the pipeline bootstraps again") after a crash between the DuckDB commit and the checkpoint, a
 * reconcile, verify --repair, a replay of the whole history, a null-cursor sweep, or many runs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, duckIds, readCheckpoint, reconcileOnce, runOnce, settle } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const REBOOT = /bootstraps again|put back to an older copy/;

test('crash after the DuckDB commit, reconcile, verify --repair, replay, null-cursor rows: no re-bootstrap', async () => {
  const url = await pgs.createDatabase('progress_probe');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz);
       CREATE INDEX ON orders (updated_at, id);
       INSERT INTO orders SELECT g, 'a', '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) g;
       INSERT INTO orders SELECT g, 'nullcur', NULL FROM generate_series(21, 23) g;`,
    );
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\nbatch_size: 5\n');
    let out = await runOnce(ws, url);
    assert.doesNotMatch(out.stderr, REBOOT);
    // New rows; the run is killed after its DuckDB commit, before any checkpoint.
    await pgs.query(url, `INSERT INTO orders (id, note, updated_at) SELECT g, 'b', now() FROM generate_series(24, 30) g`);
    await settle();
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-commit' });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr.slice(-1000));
    out = await runOnce(ws, url);
    assert.doesNotMatch(out.stderr, REBOOT, 'after a crash between commit and checkpoint');
    // A hard delete, reconciled; a change a cursor cannot see, repaired.
    await pgs.query(url, `DELETE FROM orders WHERE id = 2`);
    await reconcileOnce(ws, url);
    await pgs.query(url, `UPDATE orders SET note = 'sneaky' WHERE id = 5`);
    const repair = await runCli(['verify', '--repair'], ws.env(url));
    assert.ok(repair.code === 0 || repair.code === 1, repair.stderr.slice(-1000));
    await pgs.query(url, `INSERT INTO orders (id, note, updated_at) VALUES (31, 'c', now()), (32, 'c', NULL)`);
    await settle();
    out = await runOnce(ws, url);
    assert.doesNotMatch(out.stderr, REBOOT, 'after reconcile and verify --repair');
    // The whole history replayed onto the table.
    const replay = await runCli(['replay', 'orders', '--drop-target'], ws.env(url));
    assert.equal(replay.code, 0, replay.stdout + replay.stderr.slice(-1500));
    await pgs.query(url, `INSERT INTO orders (id, note, updated_at) VALUES (33, 'd', now())`);
    await settle();
    for (let i = 0; i < 3; i++) {
      out = await runOnce(ws, url);
      assert.doesNotMatch(out.stderr, REBOOT, `after a replay, run ${i}`);
      await pgs.query(url, `UPDATE orders SET note = 'e${i}', updated_at = now() WHERE id = ${10 + i}`);
      await settle();
    }
    out = await runOnce(ws, url);
    assert.doesNotMatch(out.stderr, REBOOT);
    const ids = await duckIds(ws, 'orders');
    assert.equal(ids.includes(2), false);
    assert.equal(ids.length, 32);
    assert.ok(readCheckpoint(ws, 'orders')?.targetBatches !== null);
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});
