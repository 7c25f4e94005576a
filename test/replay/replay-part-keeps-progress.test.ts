/**
 * Found by review of a change (fixed): a replay records "the newest file it applied" in the file's progress record. A replay of
 * a part of the history onto the table that holds rows (monotonic: a row is replayed only when its
 * newest state lies in the range, nothing moves backwards) leaves the table as current as it was, yet
 * writes a number below the checkpoint's target_batches: the next run takes the file for an older
 * copy and bootstraps the whole table again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce, settle } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('replay --from/--to onto the synced table (nothing set back): the next run must not bootstrap again', async () => {
  const url = await pgs.createDatabase('replay_part');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO orders SELECT g, 'a', '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) g;`,
    );
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n');
    await runOnce(ws, url);
    for (let i = 0; i < 2; i++) {
      await pgs.query(url, `UPDATE orders SET note = 'u${i}', updated_at = now() WHERE id <= 3; INSERT INTO orders (id, note) VALUES (${21 + i}, 'n')`);
      await settle();
      await runOnce(ws, url);
    }
    const before = readCheckpoint(ws, 'orders');
    assert.ok(before && before.targetBatches !== null && before.targetBatches > 2);
    const replay = await runCli(['replay', 'orders', '--from', '1', '--to', '2'], ws.env(url));
    assert.equal(replay.code, 0, replay.stdout + replay.stderr.slice(-1500));
    await assertVerified(ws, url); // the table was not set back
    await pgs.query(url, `INSERT INTO orders (id, note) VALUES (30, 'z')`);
    await settle();
    const out = await runOnce(ws, url);
    assert.doesNotMatch(out.stderr, /bootstraps again|put back to an older copy/, 'a healthy table is not bootstrapped again');
    assert.match(out.stdout, /✓ orders: 1 rows/);
  } finally {
    ws.cleanup();
  }
});
