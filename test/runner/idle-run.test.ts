/**
 * An idle run (nothing new in the source) leaves the DuckDB file closed when the target check
 * (src/stages/target-check.ts) finds nothing the drift check would act on; anything that check looks
 * at (a source column, the pipeline file, a reset, a pending backfill) still opens it on the next run.
 *
 * "Closed" is proven by another process holding the file's lock (as a DuckDB CLI would): a run that
 * opens the file fails then, a run that does not succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { readCheckpoint, runOnce, runOutcome } from '../support/sync-checks.js';
import { holdDuckDbLock } from '../support/lock-holder.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import type { PipelineOutcome } from '../../src/runner/pool.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

const SETUP = `
CREATE TABLE items (id int PRIMARY KEY, name text, qty int, updated_at timestamptz NOT NULL, deleted_at timestamptz);
CREATE INDEX ON items (updated_at, id);
INSERT INTO items SELECT g, 'item ' || g, g, now() - interval '1 hour', NULL FROM generate_series(1, 50) g;`;

const PIPELINE = 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\nbatch_size: 20\n';

/** A run while another process holds the DuckDB file's lock. */
async function runLocked(ws: Workspace, url: string): Promise<PipelineOutcome> {
  const holder = await holdDuckDbLock(ws.duckdbPath);
  try {
    return await runOutcome(ws, url);
  } finally {
    await holder.release();
  }
}

const duck = (ws: Workspace, sql: string) => withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true });

describe('idle run: the DuckDB file stays closed when nothing changed', () => {
  let pgs: TestPostgres;
  let n = 0;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  const synced = async () => {
    const url = await pgs.createDatabase(`idle_${++n}`);
    await pgs.query(url, SETUP);
    const ws = createWorkspace();
    ws.writePipeline('items', PIPELINE);
    await runOnce(ws, url);
    return { url, ws };
  };

  test('nothing new: the run succeeds with the file locked elsewhere; new rows then need the file and load once it is free', async () => {
    const { url, ws } = await synced();
    try {
      const before = readCheckpoint(ws, 'items');
      const idle = await runLocked(ws, url);
      assert.ok(idle.ok, `an idle run does not open the DuckDB file: ${idle.ok ? '' : idle.message}`);
      assert.equal(idle.summary.rows, 0);
      assert.deepEqual(readCheckpoint(ws, 'items')?.position, before?.position);

      await pgs.query(url, `UPDATE items SET qty = qty + 100, updated_at = now() - interval '10 minutes' WHERE id IN (3, 33)`);
      const busy = await runLocked(ws, url);
      assert.equal(busy.ok, false, 'a run with rows opens the file, which is locked');
      assert.deepEqual(readCheckpoint(ws, 'items')?.position, before?.position, 'no checkpoint moves on failure');
      await runOnce(ws, url);
      assert.deepEqual(await duck(ws, 'SELECT sum(qty)::INT AS q, count(*)::INT AS n FROM items'), [{ q: 1275 + 200, n: 50 }]);
    } finally {
      ws.cleanup();
    }
  });

  test('a source column added with no row changed: the next run opens the file and adds it', async () => {
    const { url, ws } = await synced();
    try {
      await pgs.query(url, `ALTER TABLE items ADD COLUMN region text DEFAULT 'eu'`);
      const locked = await runLocked(ws, url);
      assert.equal(locked.ok, false, 'the drift check needs the target');
      await runOnce(ws, url);
      assert.deepEqual(await duck(ws, `SELECT count(*) FILTER (region = 'eu')::INT AS eu FROM items`), [{ eu: 50 }]);
      // Checked: the next idle run leaves the file closed again.
      assert.ok((await runLocked(ws, url)).ok);
    } finally {
      ws.cleanup();
    }
  });

  test('a changed pipeline file (soft_delete added) opens the file: the view appears without any row changing', async () => {
    const { url, ws } = await synced();
    try {
      ws.writePipeline('items', PIPELINE.replace('  primary_key: id\n', '  primary_key: id\n  soft_delete: deleted_at\n'));
      assert.equal((await runLocked(ws, url)).ok, false, 'the drift check needs the target');
      await runOnce(ws, url);
      assert.deepEqual(await duck(ws, 'SELECT count(*)::INT AS n FROM items_current'), [{ n: 50 }]);
      assert.ok((await runLocked(ws, url)).ok);
    } finally {
      ws.cleanup();
    }
  });

  test('after a reset the next run opens the file even when the source is empty', async () => {
    const { url, ws } = await synced();
    try {
      await pgs.query(url, 'DELETE FROM items');
      const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
      try {
        store.reset('items');
      } finally {
        store.close();
      }
      assert.equal((await runLocked(ws, url)).ok, false, 'a new generation is checked against the target');
      await runOnce(ws, url);
      assert.equal(readCheckpoint(ws, 'items')?.bootstrapDone, true);
      assert.ok((await runLocked(ws, url)).ok);
    } finally {
      ws.cleanup();
    }
  });
});
