/**
 * The backfill of a column added with a DEFAULT: crash-safe and resumable from the state store,
 * never moving the main checkpoint, never overwriting a newer target row with an older source read,
 * and correct while the source is being written to.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI } from '../support/workspace.js';
import { driftCase } from './drift-fixture.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { introspectTable } from '../../src/postgres/introspect-table.js';
import { mapColumns } from '../../src/stages/extract.js';
import { runPendingBackfills } from '../../src/stages/backfill.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { createLogger } from '../../src/log/logger.js';
import { newRunMemory } from '../../src/stages/run-memory.js';
import { tableSpec } from '../support/table-spec.js';

describe('backfill', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('a crash mid-backfill resumes from the state store; the main checkpoint never moves for it', async () => {
    const c = await driftCase(pgs);
    try {
      await c.sync();
      const main = c.checkpoint();
      await c.sql(`ALTER TABLE items ADD COLUMN region text NOT NULL DEFAULT 'eu'`);
      await c.runUntilKilled('after-backfill-batch:2');

      const [pending] = c.backfills();
      assert.equal(pending.finishedAt, null);
      assert.equal(pending.rowsDone, 20);
      assert.deepEqual(pending.position, ['20']);
      assert.deepEqual(pending.columns, [{ attnum: 10, name: 'region' }]);
      const cp = c.checkpoint();
      assert.deepEqual([cp?.position, cp?.rowsTotal, cp?.batchesTotal], [main?.position, main?.rowsTotal, main?.batchesTotal], 'main checkpoint untouched');
      const filled = await c.duck(`SELECT count(region)::INT AS n, max(id)::INT AS upto FROM items WHERE region IS NOT NULL`);
      assert.deepEqual(filled[0], { n: 20, upto: 20 });
      const status = await c.cli(['status']);
      assert.match(status.stdout, /backfills in progress[^\n]*\n\s+items #1 region: 20 rows done, up to key 20/);

      // Changes meanwhile, on both sides of the backfill's position.
      await c.sql(`UPDATE items SET region = 'us' WHERE id IN (5, 50)`);
      await c.sync();
      await c.assertSynced();
      const [done] = c.backfills();
      assert.notEqual(done.finishedAt, null);
      assert.equal(done.rowsDone, 60, 'the resumed backfill started at key 20, not over');
      assert.equal(c.events().filter((e) => e.kind === 'added').length, 1);
    } finally {
      c.cleanup();
    }
  });

  test('never backwards: a target row newer than the row read keeps its value; equal or older rows are filled', async () => {
    const url = await pgs.createDatabase('backfill_unit');
    await pgs.query(
      url,
      `CREATE TABLE t (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
       INSERT INTO t VALUES (1, 'a', '2025-01-01 00:00:00.000001+00'), (2, 'b', '2025-01-01 00:00:00.000002+00'),
                            (3, 'c', '2025-01-01 00:00:00.000003+00'), (4, 'd', '2025-01-01 00:00:00.000004+00');
       ALTER TABLE t ADD COLUMN extra text DEFAULT 'from source';
       ANALYZE t;`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'pgduck-backfill-'));
    const pg = await connectPostgres(url);
    const lake = new Lake();
    const store = new CheckpointStore(join(dir, 'state.db'));
    const progress: unknown[][] = [];
    try {
      const spec = tableSpec('t', 2);
      const source = (await introspectTable(pg, 'public', 't'))!;
      const columns = mapColumns(spec, source);
      const duckPath = join(dir, 'lake.duckdb');
      await lake.withSession(duckPath, async (session) => {
        await session.run(`CREATE TABLE ${session.catalog}.main.t (id INTEGER PRIMARY KEY, v VARCHAR, updated_at TIMESTAMPTZ, extra VARCHAR)`);
        await session.run(
          `INSERT INTO ${session.catalog}.main.t VALUES
             (1, 'a2', TIMESTAMPTZ '2025-01-01 00:00:01+00', 'newer'),  -- loaded after the read: newer than the source row read
             (2, 'b', TIMESTAMPTZ '2025-01-01 00:00:00.000002+00', NULL), -- the same version
             (3, 'c0', TIMESTAMPTZ '2024-12-31 00:00:00+00', NULL)      -- an older version (the main stream brings the newer one)`,
        );
        store.addBackfill('t', 'added', [{ attnum: 4, name: 'extra' }]);
        const ctx = {
          spec,
          pg,
          lake: session,
          store,
          parquetDir: join(dir, 'parquet'),
          log: createLogger({ level: 'silent', format: 'json' }),
          generation: 0,
          memory: newRunMemory(),
          // A progress bar's view of it: begun with pg_class's estimate, advanced per batch, ended.
          progress: {
            begin: (label: string, p: { done: number; estimate: number | null }) => progress.push(['begin', label, p.done, p.estimate]),
            advance: (label: string, rows: number) => progress.push(['advance', label, rows]),
            end: (label: string) => progress.push(['end', label]),
          },
        };
        await runPendingBackfills(ctx, columns, source, new Set(['id', 'v', 'updated_at', 'extra']));
      });
      await lake.close();
      const rows = await withDuckDbFile(duckPath, (s) => s.all('SELECT id, v, extra FROM t ORDER BY id'));
      assert.deepEqual(
        rows,
        [
          { id: 1, v: 'a2', extra: 'newer' },
          { id: 2, v: 'b', extra: 'from source' },
          { id: 3, v: 'c0', extra: 'from source' },
        ],
        'row 4 is not inserted: a backfill only fills rows the target already has',
      );
      assert.deepEqual(
        store.backfills('t').map((b) => [b.rowsDone, b.position, b.finishedAt !== null]),
        [[4, ['4'], true]],
      );
      const label = `t backfill #${store.backfills('t')[0].id}`;
      assert.deepEqual(progress, [
        ['begin', label, 0, 4],
        ['advance', label, 2],
        ['advance', label, 2],
        ['end', label],
      ]);
    } finally {
      await pg.end();
      await lake.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('while the source is written to during the backfill, the target still ends equal to the source', async () => {
    const c = await driftCase(pgs, {
      batchSize: 40,
      setup: `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
              CREATE TABLE items (id int PRIMARY KEY, qty int, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
              CREATE TRIGGER touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
              INSERT INTO items (id, qty) SELECT g, g FROM generate_series(1, 4000) g;`,
    });
    try {
      await c.sync();
      await c.sql(`ALTER TABLE items ADD COLUMN region text DEFAULT 'eu', ADD COLUMN score numeric(8,2) DEFAULT 1.5`);
      const writer = await connectPostgres(c.url);
      const child = spawn(process.execPath, [CLI, 'run', '--once'], { env: c.ws.env(c.url), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      let running = true;
      void exited.then(() => (running = false));
      // The run's log (JSON lines on stderr) says when the backfill starts and ends. The writer writes
      // as fast as it can until the backfill is done: after it, the run still has to drain what was
      // written, which it cannot do while a writer outruns it (run --once ends when drained; with
      // commits that do not wait for the disk it never did).
      const backfilling = () => /backfilling [^\n]* from the source/.test(out);
      const backfilled = () => /backfill \d+ of [^\n]* done: \d+ existing rows re-read from the source/.test(out);
      let writes = 0;
      let writesDuringBackfill = 0;
      while (running && !backfilled()) {
        const during = backfilling();
        const id = 1 + Math.floor(Math.random() * 4000);
        await writer.query(`UPDATE items SET region = 'w' || $2::text, score = $2::numeric / 100, qty = qty + 1 WHERE id = $1`, [id, ++writes]);
        if (during && !backfilled()) writesDuringBackfill++;
      }
      await writer.end();
      assert.equal(await exited, 0, out);
      assert.ok(writes > 10, `only ${writes} concurrent writes`);
      assert.ok(writesDuringBackfill > 10, `only ${writesDuringBackfill} writes while the backfill ran`);
      await c.sync(); // drain what was written during the last run
      await c.assertSynced();
      assert.ok(c.backfills().every((b) => b.finishedAt !== null && b.rowsDone === 4000));
    } finally {
      c.cleanup();
    }
  });
});
