/**
 * A full disk, simulated honestly without root: the path pgduck is about to write is a symlink to
 * /dev/full, where every write fails with ENOSPC exactly as on a full file system.
 *
 * - The Parquet stage's `<seq>.parquet.tmp`: the pipeline fails saying the disk is full and where,
 *   no file is left under the final name (nor the tmp), the checkpoint stays at the last committed
 *   batch, the other pipeline goes on; the next run completes and verify is equal.
 * - The DuckDB file's write-ahead log (`<file>.wal`): the commit fails with ENOSPC, DuckDB keeps the
 *   previous state, the checkpoint does not move, a pipeline writing another DuckDB file goes on;
 *   once the cause is removed the next run completes and verify is equal.
 *
 * The SQLite state store cannot be filled this way: SQLite refuses to open a WAL that is not a
 * regular file (SQLITE_CANTOPEN at start-up, not a write failure), and a size-limited file system
 * needs a root-only mount.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { parquetPathFor } from '../../src/stages/parquet.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createTable, writeTablePipeline } from './failure-fixture.js';

const FULL = '/dev/full';

describe('a full disk', { skip: existsSync(FULL) ? false : `${FULL} does not exist on this system` }, () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;
  let otherDuckdb: string;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('disk_full');
    await createTable(server, url, 'fill', 1000);
    await createTable(server, url, 'other', 200);
    ws = createWorkspace();
    otherDuckdb = join(ws.dir, 'lake', 'other.duckdb');
    writeTablePipeline(ws, 'fill', 'fill', { batchSize: 100 });
    writeTablePipeline(ws, 'other', 'other', { batchSize: 100, duckdbPath: otherDuckdb });
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  const exists = (path: string) => {
    try {
      lstatSync(path);
      return true;
    } catch {
      return false;
    }
  };
  const fillRows = () => withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all('SELECT count(*)::INT AS n FROM fill'))[0].n), { readOnly: true });

  test('Parquet: batch 3 hits ENOSPC; the pipeline says the disk is full and where, keeps batches 1-2, leaves no file; the other syncs', async () => {
    const third = parquetPathFor(ws.parquetDir, 'fill', 3);
    mkdirSync(join(ws.parquetDir, 'fill'), { recursive: true });
    symlinkSync(FULL, `${third}.tmp`);
    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 4, 'a full disk needs action\n' + `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /^✓ other: 200 rows in 2 batches/m);
    const line = res.stdout.split('\n').find((l) => l.startsWith('✗ fill:')) ?? '';
    assert.equal(
      line.replace(/re-reads from .* \/ 200$/, 're-reads from … / 200'),
      // DuckDB writes a keyset batch's file (the CSV data path), so the ENOSPC is worded by DuckDB.
      `✗ fill: pipeline fill failed in parquet (batch 3): the disk is full: cannot write Parquet file ${third}: IO Error: Could not write file "${third}.tmp": No space left on device ` +
        '(nothing kept: 0000000003.parquet.tmp removed); free some space, then run again — 2 batches of this run committed (200 rows); ' +
        'checkpoint not advanced past them; next run re-reads from … / 200',
    );
    assert.equal(exists(third), false, 'no Parquet file under the final name');
    assert.equal(exists(`${third}.tmp`), false, 'no tmp file left behind');
    assert.deepEqual(readdirSync(join(ws.parquetDir, 'fill')).sort(), ['0000000001.parquet', '0000000002.parquet']);
    const cp = readCheckpoint(ws, 'fill');
    assert.equal(cp?.batchesTotal, 2);
    assert.equal(cp?.rowsTotal, 200);
    assert.deepEqual(cp?.position?.key, ['200']);
    assert.equal(cp?.lastStatus, 'failed');
    assert.match(cp?.lastError ?? '', /the disk is full: cannot write Parquet file/);
    assert.equal(await fillRows(), 200);

    const again = await runCli(['run', '--once'], ws.env(url));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^✓ fill: 800 rows in 8 batches/m);
    await assertVerified(ws, url);
  });

  test("DuckDB: the commit hits ENOSPC on the file's WAL; the target and the checkpoint stay as they were; a pipeline on another DuckDB file syncs", async () => {
    await server.query(url, "UPDATE public.fill SET name = 'changed' WHERE id % 20 = 0");
    await server.query(url, "UPDATE public.other SET name = 'changed' WHERE id <= 10");
    const wal = `${ws.duckdbPath}.wal`;
    assert.equal(exists(wal), false, 'no WAL between runs (the runner detaches the file)');
    const before = readCheckpoint(ws, 'fill');
    symlinkSync(FULL, wal);
    try {
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, 'a full disk needs action\n' + `${res.stdout}\n${res.stderr}`);
      assert.match(res.stdout, /^✓ other: 10 rows/m);
      assert.match(
        res.stdout,
        new RegExp(
          `^✗ fill: pipeline fill failed in (drift-check|upsert) \\(batch 11\\): the disk is full: .*Could not write file "${wal}": No space left on device; ` +
            'free some space, then run again — checkpoint not advanced; next run re-reads from .* / 1000$',
          'm',
        ),
      );
      const cp = readCheckpoint(ws, 'fill');
      assert.deepEqual([cp?.position, cp?.rowsTotal, cp?.batchesTotal], [before?.position, before?.rowsTotal, before?.batchesTotal], 'checkpoint unmoved');
      assert.equal(cp?.lastStatus, 'failed');
      assert.match(cp?.lastError ?? '', /the disk is full: .*No space left on device/);
    } finally {
      rmSync(wal, { force: true });
    }
    const changed = () =>
      withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all("SELECT count(*)::INT AS n FROM fill WHERE name = 'changed'"))[0].n), { readOnly: true });
    assert.equal(await changed(), 0, 'DuckDB kept its previous state');
    const again = await runCli(['run', '--once'], ws.env(url));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^✓ fill: 50 rows/m);
    assert.equal(await changed(), 50);
    await assertVerified(ws, url);
  });
});
