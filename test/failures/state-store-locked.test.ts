/**
 * The SQLite state store's write lock held by another process (a sqlite3 shell with a transaction
 * open) past busy_timeout: the batch is committed in DuckDB but its checkpoint cannot be written.
 * The pipeline fails in the checkpoint stage saying so, the checkpoint stays where it was (DuckDB is
 * one batch ahead, which rule 5 allows), the process does not fall over when it cannot record the
 * outcome either, and the next run re-applies the batch harmlessly: verify is equal.
 *
 * (A full disk under SQLite cannot be simulated without root: SQLite refuses to open a WAL that is
 * not a regular file, so /dev/full fails the start, not a write. This is the honest SQLite write failure.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createTable, writeTablePipeline } from './failure-fixture.js';

const PYTHON = spawnSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' }).status === 0;

/** Another process holding SQLite's write lock on `path` (BEGIN IMMEDIATE) until release(). */
async function holdWriteLock(path: string): Promise<{ release(): Promise<void> }> {
  const script =
    'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute("BEGIN IMMEDIATE")\nprint("locked", flush=True)\nsys.stdin.read()\nc.execute("ROLLBACK")\n';
  const child = spawn('python3', ['-c', script, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.on('close', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return {
    async release() {
      child.stdin.end();
      await closed;
    },
  };
}

describe('the state store locked by another process', { skip: PYTHON ? false : 'python3 with sqlite3 is needed to hold the lock' }, () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('state_locked');
    await createTable(server, url, 'ledger', 300);
    ws = createWorkspace();
    writeTablePipeline(ws, 'ledger', 'ledger', { batchSize: 100 });
    await runOnce(ws, url);
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  test('the checkpoint write fails after the DuckDB commit: reported, checkpoint unmoved, next run re-applies, verify equal', async () => {
    await server.query(url, "UPDATE public.ledger SET name = 'late' WHERE id <= 20");
    const before = readCheckpoint(ws, 'ledger');
    const db = join(ws.stateDir, 'checkpoints.db');
    const holder = await holdWriteLock(db);
    let res;
    try {
      res = await runCli(['run', '--once'], ws.env(url));
    } finally {
      await holder.release();
    }
    assert.equal(res.code, 75, 'a locked state store is transient\n' + `${res.stdout}\n${res.stderr}`);
    assert.match(
      res.stdout,
      new RegExp(
        `^✗ ledger: pipeline ledger failed in checkpoint \\(batch 4\\): the state store is locked by another process \\(.*\\): ` +
          `cannot write the checkpoint of ledger to ${db}: database is locked — checkpoint not advanced; next run re-reads from .+ / 300$`,
        'm',
      ),
    );
    assert.match(res.stderr, /could not record the outcome of ledger in the state store/);
    const cp = readCheckpoint(ws, 'ledger');
    assert.deepEqual([cp?.position, cp?.rowsTotal, cp?.batchesTotal], [before?.position, before?.rowsTotal, before?.batchesTotal]);
    const late = () =>
      withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all("SELECT count(*)::INT AS n FROM ledger WHERE name = 'late'"))[0].n), { readOnly: true });
    assert.equal(await late(), 20, 'DuckDB committed the batch: it is one batch ahead of the checkpoint');

    const again = await runCli(['run', '--once'], ws.env(url));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^✓ ledger: 20 rows/m, 'the batch is read and applied again');
    assert.equal(await late(), 20);
    assert.equal(readCheckpoint(ws, 'ledger')?.lastStatus, 'ok');
    await assertVerified(ws, url);
  });
});
