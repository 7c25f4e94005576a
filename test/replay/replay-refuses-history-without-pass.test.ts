/**
 * Found by review (row loss, files out of step): PARQUET_DIR changed between runs (a new, empty history
 * folder; the state store and DuckDB file kept), then the DuckDB file lost and rebuilt the way the
 * README says (`pgduck replay <name>`). The new folder holds only the batches written since the move,
 * none of them read from the beginning of the table: replay rebuilt 3 of 20 rows from them, said
 * "rebuilding orders from its whole history (5…5)", exited 0, and the next run went on incrementally
 * from the checkpoint, never reading the rest. A rebuild now refuses a history in which no file begins
 * a pass over the source (REPLAY_NO_PASS, exit 4, nothing written) unless --from says to take the
 * files as they are; `pgduck reset <name>` and a run write a pass it can rebuild from.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { readCheckpoint, runOnce, settle } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

const duckTables = (path: string): Promise<string[]> =>
  withDuckDbFile(path, async (s) => (await s.all('SELECT table_name FROM duckdb_tables() ORDER BY 1')).map((r) => String(r.table_name)), { readOnly: true });

test('PARQUET_DIR moved, then the DuckDB file lost: replay refuses the history without a pass, and reset + run recovers every row', async () => {
  const url = await pgs.createDatabase('parquet_dir_moved');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE orders (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON orders (updated_at, id);
       INSERT INTO orders SELECT g, 'old', '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline('orders', `source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 5\n`);
    await runOnce(ws, url);
    // The history moves to a new volume; the old folder is archived elsewhere.
    const moved = join(ws.dir, 'history-volume');
    const env = { ...ws.env(NOWHERE), PARQUET_DIR: moved };
    await pgs.query(url, `UPDATE orders SET note = 'day2', updated_at = now() WHERE id IN (3, 4)`);
    await settle();
    await runOnce(ws, url, [], { PARQUET_DIR: moved });
    // The DuckDB file is lost; rebuilt from the history as the README says.
    rmSync(ws.duckdbPath);
    rmSync(`${ws.duckdbPath}.wal`, { force: true });
    const checkpoint = readCheckpoint(ws, 'orders');

    for (const args of [
      ['replay', 'orders'],
      ['replay', 'orders', '--dry-run'],
      ['replay', 'orders', '--to', '5'],
    ]) {
      const replay = await runCli(args, env);
      assert.equal(replay.code, 4, `${args.join(' ')}: needs action\n${replay.stdout}\n${replay.stderr}`);
      assert.equal(replay.stdout, '', `${args.join(' ')}: no plan printed`);
      assert.match(
        replay.stderr,
        /^✗ orders: the Parquet history of orders in .*history-volume\/orders \(seq 5…5\) holds no batch read from the beginning of the table/m,
      );
      assert.match(replay.stderr, /\(the checkpoint is past them\)\. orders, the history and the checkpoint are left as they were; nothing was replayed$/m);
      assert.match(replay.stderr, /^ {2}fix: pgduck reset orders, then pgduck run: .*; or pgduck replay orders --from 5 /m);
    }
    assert.deepEqual(existsSync(ws.duckdbPath) ? await duckTables(ws.duckdbPath) : [], [], 'no table was created');
    assert.deepEqual(readCheckpoint(ws, 'orders'), checkpoint, 'the checkpoint is untouched');

    // --from takes the files as they are: the 2 rows they hold, and a note saying so.
    const partial = await runCli(['replay', 'orders', '--from', '5', '--duckdb', join(ws.dir, 'partial.duckdb')], env);
    assert.equal(partial.code, 0, `${partial.stdout}\n${partial.stderr}`);
    assert.match(partial.stdout, /seq 5…5 of 5…5/);

    // What the refusal says to run: a reset and a run read every row again, into a new pass replay rebuilds from.
    const reset = await runCli(['reset', 'orders'], env);
    assert.equal(reset.code, 0, `${reset.stdout}\n${reset.stderr}`);
    await pgs.query(url, `UPDATE orders SET note = 'day3', updated_at = now() WHERE id = 5`);
    await settle();
    await runOnce(ws, url, [], { PARQUET_DIR: moved });
    assert.deepEqual(
      await compareTables(url, 'orders', ws.duckdbPath, 'orders', ['id']),
      { pgRows: 20, duckRows: 20, mismatches: [] },
      'after reset and a run',
    );
    const rebuilt = await runCli(['replay', 'orders', '--drop-target'], env);
    assert.equal(rebuilt.code, 0, `${rebuilt.stdout}\n${rebuilt.stderr}`);
    assert.deepEqual(
      await compareTables(url, 'orders', ws.duckdbPath, 'orders', ['id']),
      { pgRows: 20, duckRows: 20, mismatches: [] },
      'rebuilt from the new pass',
    );
  } finally {
    ws.cleanup();
  }
});
