/**
 * Hard deletes in the Parquet history: reconcile writes the keys it found gone as a deletes file of
 * their own (src/repair/deletes-file.ts), and `pgduck replay` applies it in order, so a rebuilt table
 * is the one reconcile left, under both hard_delete_mode settings:
 *  - remove: rows hard-deleted (and reconciled) stay gone after `replay --drop-target`; a key deleted
 *    then inserted again comes back; a replay onto the table changes nothing; `--dry-run` lists the
 *    deletes file; verify finds the rebuilt table equal to the source.
 *  - mark: the rebuilt table keeps the marked rows with the same `_pgduck_deleted_at`; a key marked,
 *    then inserted again, is unmarked; verify equal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { listHistory } from '../../src/parquet/history-files.js';
import Database from 'better-sqlite3';
import { join } from 'node:path';

/** Postgres is never asked by a replay: it runs with this URL, where nothing listens. */
const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

const SQL = `
CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON orders (updated_at, id);
INSERT INTO orders SELECT i, i * 1.5, clock_timestamp() - interval '1 hour' FROM generate_series(1, 3000) AS i;`;

/** Every row of the table as text, in key order, and how many rows are marked. */
async function snapshot(ws: Workspace): Promise<{ rows: string[]; marked: number; current: number | null }> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => {
      const cols = (await s.all(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'orders' ORDER BY column_index`)).map((c) =>
        String(c.column_name),
      );
      const marking = cols.includes('_pgduck_deleted_at');
      const rows = await s.all(`SELECT concat_ws('|', ${cols.map((c) => `CAST("${c}" AS VARCHAR)`).join(', ')}) AS r FROM orders ORDER BY id`);
      const marked = marking ? Number((await s.all(`SELECT count(_pgduck_deleted_at)::INT AS n FROM orders`))[0].n) : 0;
      const view = (await s.all(`SELECT count(*)::INT AS n FROM duckdb_views() WHERE view_name = 'orders_current'`))[0].n;
      const current = Number(view) > 0 ? Number((await s.all(`SELECT count(*)::INT AS n FROM orders_current`))[0].n) : null;
      return { rows: rows.map((r) => String(r.r)), marked, current };
    },
    { readOnly: true },
  );
}

describe('replay applies the deletes reconcile found', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  /** `pgduck reconcile orders`, in this process: it writes the deletes files replay is tested on. */
  const reconcile = async (ws: Workspace, url: string) => (await reconcileOnce(ws, url, ['orders']))[0];
  const replay = async (ws: Workspace, args: string[]) => {
    const res = await runCli(['replay', 'orders', ...args], ws.env(NOWHERE));
    assert.equal(res.code, 0, `replay ${args.join(' ')}:\n${res.stdout}\n${res.stderr}`);
    return res.stdout;
  };

  /** A database of its own holding the 3,000 orders, synced once into a new workspace (removed again if that fails). */
  const synced = async (database: string, mode: 'remove' | 'mark'): Promise<{ url: string; ws: Workspace }> => {
    const url = await pgs.createDatabase(database);
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      const marking = mode === 'mark' ? '  hard_delete_mode: mark\n' : '';
      ws.writePipeline('orders', `source:\n  table: public.orders\n  primary_key: id\n${marking}target:\n  table: orders\nbatch_size: 1000\n`);
      await runOnce(ws, url);
      return { url, ws };
    } catch (err) {
      ws.cleanup();
      throw err;
    }
  };

  test('remove: deleted rows stay gone after a rebuild, a re-inserted key comes back, dry-run lists the deletes file', async () => {
    const { url, ws } = await synced('replay_deletes', 'remove');
    try {
      // 30 scattered hard deletes, reconciled: one deletes file of 30 keys.
      await pgs.query(url, `DELETE FROM orders WHERE id % 100 = 7`);
      const first = await reconcile(ws, url);
      assert.deepEqual([first.gone, first.removed], [30, 30]);
      const deletesFiles = () => listHistory(ws.parquetDir, 'orders').files.filter((f) => f.kind === 'deletes');
      assert.equal(deletesFiles().length, 1);
      const keys = await withDuckDbFile(':memory:', (s) =>
        s.all(`SELECT count(*)::INT AS n, min(id)::INT AS lo, max(id)::INT AS hi FROM read_parquet('${deletesFiles()[0].path}')`),
      );
      assert.deepEqual(keys[0], { n: 30, lo: 7, hi: 2907 });

      // Key 107 comes back (inserted again, synced) after its delete; keys 1 and 2 go after that.
      await pgs.query(url, `INSERT INTO orders VALUES (107, 1.00, clock_timestamp() - interval '30 minutes')`);
      await runOnce(ws, url);
      await pgs.query(url, `DELETE FROM orders WHERE id IN (1, 2)`);
      const second = await reconcile(ws, url);
      assert.deepEqual([second.gone, second.removed], [2, 2]);
      assert.equal(deletesFiles().length, 2);
      await assertVerified(ws, url);
      const live = await snapshot(ws);
      assert.equal(live.rows.length, 3000 - 30 + 1 - 2);

      const dry = await replay(ws, ['--drop-target', '--dry-run']);
      assert.match(dry, /, 2 deletes files; /);
      assert.match(dry, /^ {4}deletes\/\d{10}\.parquet {2}deletes, 30 keys gone from the source: removed$/m);
      assert.match(dry, /^ {4}deletes\/\d{10}\.parquet {2}deletes, 2 keys gone from the source: removed$/m);

      const rebuilt = await replay(ws, ['--drop-target']);
      assert.match(rebuilt, /, 32 removed by 2 deletes files\)/);
      const after = await snapshot(ws);
      assert.deepEqual(after, live, 'the rebuilt table is the one reconcile left, value for value');
      assert.ok(
        after.rows.some((r) => r.startsWith('107|1.00|')),
        'the key deleted then inserted again is back',
      );
      await assertVerified(ws, url);

      // `pgduck history` counts the deletes files among the files.
      const size = await runCli(['history'], ws.env(NOWHERE));
      assert.equal(size.code, 0, size.stderr);
      assert.match(size.stdout, /^orders +\d+ files \(2 of deletes\), /m);

      // Onto the table as it is (monotonic): nothing changes, nothing comes back.
      await replay(ws, []);
      assert.deepEqual(await snapshot(ws), live);

      // Onto a table that holds deleted keys again (written by hand): one with an older cursor than the
      // row had when reconcile removed it is removed; one with a newer cursor is kept (never over a newer row).
      await withDuckDbFile(ws.duckdbPath, (s) =>
        s.run(`INSERT INTO orders VALUES (7, 10.50, now() - INTERVAL 2 HOUR), (1007, 1510.50, now() + INTERVAL 1 DAY)`),
      );
      const onto = await replay(ws, []);
      assert.match(onto, /^ {2}mode monotonic: /m);
      const ids = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT list(id ORDER BY id) AS ids FROM orders WHERE id IN (7, 1007)`), {
        readOnly: true,
      });
      assert.deepEqual(ids[0].ids, [1007]);
    } finally {
      ws.cleanup();
    }
  });

  test('mark: a rebuild keeps the marks with their times; a re-inserted key is unmarked', async () => {
    const { url, ws } = await synced('replay_marks', 'mark');
    try {
      await pgs.query(url, `DELETE FROM orders WHERE id % 100 = 7`);
      const first = await reconcile(ws, url);
      assert.deepEqual([first.gone, first.marked], [30, 30]);
      // A second reconcile, later, marks two more at its own time; key 107 comes back in between.
      await pgs.query(url, `INSERT INTO orders VALUES (107, 1.00, clock_timestamp() - interval '30 minutes')`);
      await runOnce(ws, url);
      await pgs.query(url, `DELETE FROM orders WHERE id IN (1, 2)`);
      const second = await reconcile(ws, url);
      assert.deepEqual([second.gone, second.marked], [2, 2]);
      await assertVerified(ws, url);
      const live = await snapshot(ws);
      assert.deepEqual([live.rows.length, live.marked, live.current], [3000, 29 + 2, 3000 - 31]);

      const dry = await replay(ws, ['--drop-target', '--dry-run']);
      assert.match(dry, /^ {4}deletes\/\d{10}\.parquet {2}deletes, 30 keys gone from the source: marked at \S+$/m);

      await replay(ws, ['--drop-target']);
      const after = await snapshot(ws);
      assert.deepEqual(after, live, 'the marks, with their times, and the unmarked re-inserted key: as reconcile left them');
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });

  test('a reconcile whose state-store write was lost (a crash after its DuckDB commit): the next one numbers its deletes file past it, and a rebuild keeps both deletes', async () => {
    const { url, ws } = await synced('replay_deletes_crash', 'remove');
    try {
      await pgs.query(url, `DELETE FROM orders WHERE id % 100 = 7`);
      assert.equal((await reconcile(ws, url)).removed, 30);
      // The crash: DuckDB committed and the deletes file is on disk, the state store's count never moved.
      const db = new Database(join(ws.stateDir, 'checkpoints.db'));
      db.prepare(`UPDATE checkpoints SET batches_total = batches_total - 1 WHERE pipeline = 'orders'`).run();
      db.close();
      await pgs.query(url, `DELETE FROM orders WHERE id IN (1, 2)`);
      assert.equal((await reconcile(ws, url)).removed, 2);
      const deletes = listHistory(ws.parquetDir, 'orders').files.filter((f) => f.kind === 'deletes');
      assert.equal(new Set(deletes.map((f) => f.seq)).size, 2, 'two deletes files, under two numbers: the first one kept');
      const live = await snapshot(ws);
      assert.equal(live.rows.length, 3000 - 32);
      await replay(ws, ['--drop-target']);
      assert.deepEqual(await snapshot(ws), live, "both reconciles' deletes applied by the rebuild");
      await assertVerified(ws, url);
    } finally {
      ws.cleanup();
    }
  });
});
