/**
 * `pgduck history prune` and `pgduck replay` take the Parquet history directory's lock: while
 * another process holds it (a holder script in test/support/, as a running prune or replay would),
 * each fails fast with exit 75 (HISTORY_BUSY), names the holder's pid and host, and deletes or
 * writes nothing. Once it is released, prune deletes what it would have, and replay runs. Real
 * Postgres for the history, real DuckDB; prune and replay run with Postgres unreachable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { resetCheckpoint, runOnce } from '../support/sync-checks.js';
import { holdHistoryLock } from '../support/lock-holder.js';

const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

const SETUP = `
CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON items (updated_at, id);
INSERT INTO items (id, name, updated_at) SELECT g, 'item ' || g, now() - interval '1 hour' + g * interval '1 ms' FROM generate_series(1, 30) g;`;

/** Every file under the history directory but the lock, relative to it. */
const everyFile = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f !== '.pgduck-history.lock')
    .sort();

describe('the history lock', () => {
  let server: TestPostgres;
  let ws: Workspace;
  before(async () => {
    server = await startPostgres();
    const url = await server.createDatabase('history_lock');
    await server.query(url, SETUP);
    ws = createWorkspace();
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\nbatch_size: 7\nhistory:\n  keep: 1\n');
    await runOnce(ws, url); // a first complete pass
    resetCheckpoint(ws, 'items');
    await runOnce(ws, url); // a second one: keep 1 deletes the first
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  test('prune and replay fail fast while the lock is held (exit 75, the holder named, nothing deleted or written), and run once it is released', async () => {
    const env = ws.env(NOWHERE);
    const planned = await runCli(['history', 'prune', '--dry-run', '--json'], env);
    assert.equal(planned.code, 0, planned.stderr);
    const toDelete = (JSON.parse(planned.stdout) as { pipelines: { delete: unknown[] }[] }).pipelines[0].delete.length;
    assert.ok(toDelete > 0, 'the first pass is prunable');
    const files = everyFile(ws.parquetDir);
    const rows = async () =>
      withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all('SELECT count(*)::BIGINT AS n FROM items'))[0].n), { readOnly: true });
    assert.equal(await rows(), 30);

    const holder = await holdHistoryLock(ws.parquetDir);
    const lock = join(ws.parquetDir, '.pgduck-history.lock');
    try {
      const holderNamed = new RegExp(
        `the Parquet history is busy: the test holder \\(pid ${holder.pid} on host ${hostname()}, since [^)]+\\) holds ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; nothing was read or deleted`,
      );
      const pruned = await runCli(['history', 'prune'], env);
      assert.equal(pruned.code, 75, pruned.stdout + pruned.stderr);
      assert.match(pruned.stderr, holderNamed);
      assert.deepEqual(everyFile(ws.parquetDir), files, 'no file deleted');

      const replayed = await runCli(['replay', 'items', '--drop-target'], env);
      assert.equal(replayed.code, 75, replayed.stdout + replayed.stderr);
      assert.match(replayed.stderr, holderNamed);
      assert.equal(await rows(), 30, 'the table untouched');
      assert.ok(existsSync(lock), "the holder's lock stays");
    } finally {
      await holder.release();
    }
    assert.ok(!existsSync(lock), 'released');

    const pruned = await runCli(['history', 'prune'], env);
    assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
    assert.equal(everyFile(ws.parquetDir).length, files.length - toDelete, 'prune deletes what it would have');
    const replayed = await runCli(['replay', 'items', '--drop-target'], env);
    assert.equal(replayed.code, 0, replayed.stdout + replayed.stderr);
    assert.equal(await rows(), 30);
    assert.ok(!existsSync(lock), 'each releases its lock');
  });
});
