/**
 * `pgduck replay`: a history made by real runs (inserts, updates, soft deletes, a column added with a
 * DEFAULT and backfilled, a column renamed, a column widened, a row whose cursor went backwards, a
 * batch size of 7) is re-applied with Postgres unreachable:
 *  (a) into a new DuckDB file, and after the DuckDB file is deleted: the table is the one the runner
 *      built, value for value, and `pgduck verify` finds it equal to the source;
 *  (b) an old part of the history onto the current table changes nothing, the file holding the
 *      backwards-cursor row's older (higher-cursor) version included;
 *  (c) replaying everything twice, in place or rebuilding, is idempotent;
 *  (d) an unknown pipeline, no history, a locked DuckDB file: clear errors, nothing written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type CliResult, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint, resetCheckpoint, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { listHistory } from '../../src/parquet/history-files.js';
import { holdDuckDbLock } from '../support/lock-holder.js';

/** Postgres is never asked: every replay runs with this URL, where nothing listens. */
const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

const SETUP = `
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TABLE events (
  id         int PRIMARY KEY,
  name       text,
  qty        int,
  price      numeric(10,2),
  tags       text[],
  at         timestamp,
  payload    jsonb,
  blob       bytea,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX ON events (updated_at, id);
CREATE TRIGGER touch BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO events (id, name, qty, price, tags, at, payload, blob, updated_at)
SELECT g, 'event ' || g, g * 3, g * 1.25, ARRAY['t' || (g % 3), NULL, 'a,b'], timestamp '0044-03-15 12:00:00 BC' + g * interval '1 day 1.5 second',
       jsonb_build_object('n', g, 'big', 12345678901234567890), decode(lpad(to_hex(g), 4, '0') || '00ff', 'hex'),
       now() - interval '1 hour' + g * interval '1 ms'
FROM generate_series(1, 60) g;`;

describe('pgduck replay', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;
  let wFileSeq = 0;
  const clients: pg.Client[] = [];

  const cli = (args: string[], databaseUrl = NOWHERE): Promise<CliResult> => runCli(args, ws.env(databaseUrl));
  const sql = async (text: string) => (await server.query(url, text)).rows;
  /** The table as it is: its columns and types, and every row in key order, as text. */
  const snapshot = (path = ws.duckdbPath) =>
    withDuckDbFile(
      path,
      async (s) => {
        await s.run("SET TimeZone = 'UTC'");
        const shape = await s.all(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'events' ORDER BY column_index`);
        const cols = shape.map((c) => `CAST("${String(c.column_name)}" AS VARCHAR) AS "${String(c.column_name)}"`);
        const rows = await s.all(`SELECT ${cols.join(', ')} FROM events ORDER BY id`);
        const view = await s.all(`SELECT count(*)::INT AS n FROM events_current`);
        return { shape, rows, current: view[0].n };
      },
      { readOnly: true },
    );
  const assertReplayed = (res: CliResult, mode: string) => {
    assert.equal(res.code, 0, `replay failed:\n${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, new RegExp(`^  mode ${mode}: `, 'm'));
    assert.match(res.stdout, /^✓ events: \d+ files? replayed .*Postgres and the checkpoint untouched$/m);
  };

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('replay');
    await server.query(url, SETUP);
    ws = createWorkspace();
    ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\n  soft_delete: deleted_at\ntarget:\n  table: events\nbatch_size: 7\n');

    await runOnce(ws, url); // bootstrap: 9 batches
    await sql(`UPDATE events SET name = name || ' (changed)', qty = qty + 1 WHERE id % 5 = 0;
               INSERT INTO events (id, name, qty, price) SELECT g, 'late ' || g, g, 0.5 FROM generate_series(61, 70) g;
               UPDATE events SET deleted_at = now() WHERE id IN (3, 13, 61);`);
    await runOnce(ws, url);
    // Drift: a column added with a DEFAULT (every existing row gets it without its cursor moving: backfilled),
    // a column renamed, a column widened.
    await sql(`ALTER TABLE events ADD COLUMN region text NOT NULL DEFAULT 'eu';
               ALTER TABLE events RENAME COLUMN name TO title;
               ALTER TABLE events ALTER COLUMN qty TYPE bigint;
               UPDATE events SET region = 'us', qty = 5000000000 WHERE id IN (2, 62);`);
    await runOnce(ws, url);

    // A row whose cursor goes backwards: T starts at t0, W (t1 > t0) updates row 7 and commits, a run
    // loads W's version, then T updates row 7 (updated_at = t0 < t1) and commits, and a run loads it.
    const older = new pg.Client({ connectionString: url });
    await older.connect();
    clients.push(older);
    await older.query('BEGIN');
    await older.query('SELECT now()');
    await new Promise((r) => setTimeout(r, 20));
    await sql(`UPDATE events SET title = 'W' WHERE id = 7`);
    await runOnce(ws, url);
    await older.query(`UPDATE events SET title = 'T' WHERE id = 7`);
    await older.query('COMMIT');
    await runOnce(ws, url);
    await sql(`UPDATE events SET deleted_at = now(), title = 'gone' WHERE id IN (20, 64); UPDATE events SET deleted_at = NULL WHERE id = 3`);
    await runOnce(ws, url);
    await assertVerified(ws, url, ['events']);

    // Which history file holds W's version of row 7 (the higher cursor, older version)?
    const files = listHistory(ws.parquetDir, 'events').files.filter((f) => f.kind === 'batch');
    await withDuckDbFile(':memory:', async (s) => {
      for (const f of files) {
        const rows = await s.all(`SELECT title FROM read_parquet('${f.path}') WHERE id = 7 AND title = 'W'`).catch(() => []);
        if (rows.length > 0) wFileSeq = f.seq;
      }
    });
  });
  after(async () => {
    for (const c of clients) await c.end().catch(() => {});
    ws?.cleanup();
    await server?.stop();
  });

  test('the history: one file per batch, backfill batches kept, each file describing its columns', async () => {
    const { files } = listHistory(ws.parquetDir, 'events');
    const backfills = files.filter((f) => f.kind === 'backfill');
    assert.ok(files.length >= 14, `${files.length} files`);
    assert.ok(backfills.length >= 10, `the 70 existing rows are backfilled in batches of 7: ${backfills.length} files`);
    assert.ok(wFileSeq > 0, 'a file holds the W version of row 7');
    const meta = await withDuckDbFile(':memory:', (s) =>
      s.all(`SELECT decode(value) AS v FROM parquet_kv_metadata('${backfills[0].path}') WHERE decode(key) = 'pgduck'`),
    );
    const m = JSON.parse(String(meta[0].v));
    assert.equal(m.kind, 'backfill');
    assert.deepEqual(
      m.columns.map((c: { name: string; baseType: string }) => `${c.name} ${c.baseType}`),
      // qty integer → bigint rewrote the table (its relfilenode moved): the re-read covers every column, region included.
      [
        'id integer',
        'updated_at timestamp with time zone',
        'title text',
        'qty bigint',
        'price numeric(10,2)',
        'tags text[]',
        'at timestamp without time zone',
        'payload jsonb',
        'blob bytea',
        'deleted_at timestamp with time zone',
        'region text',
      ],
    );
  });

  test('(a) into a new DuckDB file, Postgres unreachable: the table the runner built, value for value', async () => {
    const original = await snapshot();
    const other = join(ws.dir, 'elsewhere', 'rebuilt.duckdb');
    const res = await cli(['replay', 'events', '--duckdb', other]);
    assertReplayed(res, 'replace');
    assert.doesNotMatch(res.stdout + res.stderr, /secret/);
    const rebuilt = await snapshot(other);
    assert.deepEqual(rebuilt.shape, original.shape, 'same columns, order and types (renamed, widened, added)');
    assert.deepEqual(rebuilt.rows, original.rows);
    assert.equal(rebuilt.current, original.current, 'the events_current view');
    const row7 = rebuilt.rows.find((r) => r.id === '7');
    assert.equal(row7?.title, 'T', 'the newest version of the row whose cursor went backwards');
    assert.equal(rebuilt.rows.find((r) => r.id === '1')?.region, 'eu', 'backfilled value');
  });

  test('(a) after the DuckDB file is lost: replay --drop-target, then verify is equal to the source', async () => {
    const before = await snapshot();
    const checkpoint = readCheckpoint(ws, 'events');
    rmSync(ws.duckdbPath);
    rmSync(`${ws.duckdbPath}.wal`, { force: true });
    const res = await cli(['replay', 'events', '--drop-target']);
    assertReplayed(res, 'replace');
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(readCheckpoint(ws, 'events'), checkpoint, 'checkpoint untouched');
    await assertVerified(ws, url, ['events']);
    assert.equal((await snapshot()).rows.length, 70);
    // And the runner goes on from its checkpoint on the rebuilt table.
    await sql(`UPDATE events SET title = 'after replay' WHERE id = 1`);
    await runOnce(ws, url);
    await assertVerified(ws, url, ['events']);
  });

  test('(b) an old part of the history onto the current table changes nothing (monotonic)', async () => {
    const before = await snapshot();
    for (const range of [
      ['--from', '1', '--to', '5'],
      ['--from', String(wFileSeq), '--to', String(wFileSeq)], // W's version of row 7 has a higher cursor than the table's
      ['--from', '1'],
    ]) {
      const res = await cli(['replay', 'events', ...range]);
      assertReplayed(res, 'monotonic');
      assert.deepEqual(await snapshot(), before, `replay ${range.join(' ')} changed the table`);
    }
    await assertVerified(ws, url, ['events']);
  });

  test('(c) replaying everything twice is idempotent, in place and rebuilding', async () => {
    const before = await snapshot();
    for (const args of [[], [], ['--drop-target'], ['--drop-target']]) {
      const res = await cli(['replay', 'events', ...args]);
      assertReplayed(res, args.length ? 'replace' : 'monotonic');
      assert.deepEqual(await snapshot(), before, `replay ${args.join(' ')}`);
    }
  });

  test('rows lost from the table (or damaged) come back from the history in place (monotonic)', async () => {
    const before = await snapshot();
    await withDuckDbFile(ws.duckdbPath, (s) => s.run(`DELETE FROM events WHERE id IN (1, 2, 7, 20, 65); UPDATE events SET region = NULL WHERE id = 30`));
    const res = await cli(['replay', 'events']);
    assertReplayed(res, 'monotonic');
    // Row 30: its last batch, then the backfill after it, as the runner applied them.
    assert.deepEqual(await snapshot(), before);
    await assertVerified(ws, url, ['events']);
  });

  test('--dry-run prints the plan and writes nothing', async () => {
    const mtime = statSync(ws.duckdbPath).mtimeMs;
    const res = await cli(['replay', 'events', '--drop-target', '--dry-run']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^  mode replace: rebuilding events from its whole history/m);
    assert.match(
      res.stdout,
      /events is built as events__pgduck_replay, then swapped in \(replacing the table: --drop-target\): id INTEGER, title VARCHAR, qty BIGINT/,
    );
    assert.match(
      res.stdout,
      /^    backfill\/\d{10}\.000001\.000000000000\.parquet  backfill #1, 7 rows: id, updated_at, title, qty, price, tags, at, payload, blob, deleted_at, region$/m,
    );
    assert.match(res.stdout, /^    0000000001\.parquet  batch, 7 rows, read from the beginning; name → title$/m);
    assert.match(res.stdout, /^dry run: nothing was written$/m);
    assert.equal(statSync(ws.duckdbPath).mtimeMs, mtime);
    const fresh = join(ws.dir, 'never.duckdb');
    assert.equal((await cli(['replay', 'events', '--dry-run', '--duckdb', fresh])).code, 0);
    assert.equal(existsSync(fresh), false);
  });

  test('(d) an unknown pipeline, no history, bad ranges: clear errors', async () => {
    const unknown = await cli(['replay', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown pipeline: nope \(known: events/);

    ws.writePipeline('quiet', 'source:\n  table: public.quiet\n  primary_key: id\ntarget:\n  table: quiet\n');
    try {
      const none = await cli(['replay', 'quiet']);
      assert.equal(none.code, 4, 'no history: needs action');
      assert.match(
        none.stderr,
        new RegExp(
          `^no Parquet history for quiet: ${join(ws.parquetDir, 'quiet')} does not exist \\(has the pipeline run\\? is --parquet-dir / PARQUET_DIR the one it wrote to\\?\\); nothing was replayed$`,
          'm',
        ),
      );
    } finally {
      rmSync(join(ws.pipelinesDir, 'quiet.yml'));
    }

    const bad = await cli(['replay', 'events', '--from', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from must be a batch sequence number \(a positive integer\), got "x"/);
    const backwards = await cli(['replay', 'events', '--from', '9', '--to', '3']);
    assert.equal(backwards.code, 2);
    assert.match(backwards.stderr, /--from 9 is after --to 3/);
    const beyond = await cli(['replay', 'events', '--from', '100000']);
    assert.equal(beyond.code, 4, 'a range outside the history: needs action');
    assert.match(beyond.stderr, /✗ events: no history file of events between 100000 and \d+ \(its history holds 1…\d+\); nothing was replayed/);

    const help = await cli(['replay', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--drop-target/);
    assert.match(help.stdout, /monotonic/);
  });

  test('(d) a DuckDB file held by another process (a running pgduck run): replay says so and writes nothing', async () => {
    const before = await snapshot();
    const holder = await holdDuckDbLock(ws.duckdbPath);
    let res: CliResult;
    try {
      res = await cli(['replay', 'events', '--drop-target']);
    } finally {
      await holder.release();
    }
    assert.equal(res.code, 75, `a lock held elsewhere is transient\n${res.stdout}${res.stderr}`);
    assert.match(
      res.stderr,
      new RegExp(
        `^✗ events: the DuckDB file ${escapeRegExp(resolve(ws.duckdbPath))} is locked by another process \\(node, PID ${holder.pid}\\): a running \`pgduck run\` \\(or a DuckDB CLI, a notebook\\) has it open\\. ` +
          'Stop it, then replay again \\(replay and the runner must not write one file at once\\); nothing was replayed$',
        'm',
      ),
    );
    assert.deepEqual(await snapshot(), before);
    assert.equal(readdirSync(join(ws.dir, 'lake')).filter((f) => f.includes('pgduck_replay')).length, 0);
  });

  test('the events_current view follows the pipeline file, as the runner keeps it', async () => {
    const pipeline = (softDelete: string) =>
      ws.writePipeline('events', `source:\n  table: public.events\n  primary_key: id\n${softDelete}target:\n  table: events\nbatch_size: 7\n`);
    const views = () => withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1`), { readOnly: true });
    const before = await snapshot();
    try {
      pipeline('');
      assertReplayed(await cli(['replay', 'events', '--drop-target']), 'replace');
      assert.deepEqual(await views(), [], 'soft_delete removed from the pipeline file: the view is dropped');
    } finally {
      pipeline('  soft_delete: deleted_at\n');
    }
    assertReplayed(await cli(['replay', 'events']), 'monotonic');
    assert.deepEqual(await views(), [{ view_name: 'events_current' }]);
    assert.deepEqual(await snapshot(), before);
  });

  test('after reset and a run, the files before the new full pass can go: a rebuild is still exact', async () => {
    resetCheckpoint(ws, 'events');
    // 71 rows: the pass ends on a short batch (a pass ending on a full one is proven by the next run's first batch).
    await sql(`UPDATE events SET title = 'after reset' WHERE id = 4; INSERT INTO events (id, title) VALUES (71, 'one more')`);
    await runOnce(ws, url);
    const current = await snapshot();
    // A second pass that stops after 2 batches is not complete: replay still starts at the first one.
    // (Killed in its second batch's upsert: the pass's batches share one DuckDB transaction, whose
    // checkpoints are written at its commit; --only: the other pipeline's empty batch passes the point too.)
    resetCheckpoint(ws, 'events');
    const killed = await runCli(['run', '--once', '--only', 'events'], { ...ws.env(url), PGDUCK_FAULT: 'after-upsert:2' });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    assert.deepEqual(await snapshot(), current);

    const dry = await cli(['replay', 'events', '--drop-target', '--dry-run']);
    // The killed run's files were never committed (numbered past the checkpoint's count): not replayed at all
    // (2 or 3: the third batch may have been read ahead and written before the kill).
    assert.match(
      dry.stdout,
      /^note: [23] batch files numbered past the \d+ batches the checkpoint counts \(\d{10}\.parquet(, \d{10}\.parquet)+\) were written by a run that never committed them: not replayed$/m,
    );
    const starts = [...dry.stdout.matchAll(/^    (\d{10})\.parquet  batch, \d+ rows, read from the beginning$/gm)].map((m) => Number(m[1]));
    assert.equal(starts.length, 1, dry.stdout);
    const start = starts[0];
    assert.ok(start > wFileSeq, dry.stdout);
    assert.match(dry.stdout, new RegExp(`^replay events: \\d+ files .*, seq ${start}…`, 'm'));
    assert.match(dry.stdout, new RegExp(`note: files before ${start} are not replayed: batch ${start} began a new full pass`));
    for (const f of listHistory(ws.parquetDir, 'events').files) if (f.seq < start) rmSync(f.path);
    const other = join(ws.dir, 'compacted.duckdb');
    assertReplayed(await cli(['replay', 'events', '--duckdb', other]), 'replace');
    assert.deepEqual(await snapshot(other), current);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
