/**
 * Compaction (src/stages/compact.ts): every update leaves a deleted row slot in DuckDB's storage,
 * which DuckDB never reclaims in a keyed table, so a table synced for months grew without bound
 * (measured: a 1M-row table updated five times over grew from 13.6 to 78.7 MB). A run whose target
 * holds at least as many deleted slots as rows copies it onto itself first. Here the minimum is 100
 * slots (the runner's `compactMinDeleted`; a row group's worth by default) so a small table shows it;
 * the runner is the one `pgduck run` uses, on real Postgres and a real DuckDB file.
 *
 * - Rows, values, the key, the table's source record and the `_current` view are the same after it;
 *   the slots fall back to the rows; it happens only once due.
 * - A keyless target (target.key_index: false) keeps its key's comments.
 * - A table people added an index to is left alone, with a warning; a copy that fails leaves the
 *   table as it was, and the run goes on.
 * - A rebuild killed halfway (`PGDUCK_FAULT=mid-rebuild`, here a widened key's rebuild, the same
 *   transaction) leaves the table as it was; the next run rebuilds it, its source record kept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline, type RunDeps } from '../../src/runner/run-pipeline.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { tableSpec } from '../support/table-spec.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { compactionDue } from '../../src/duckdb/target-table.js';
import { createWorkspace, runCli } from '../support/workspace.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const MIN = 100;

function assertSame(diff: { pgRows: number; duckRows: number; mismatches: unknown[] }): void {
  assert.equal(diff.duckRows, diff.pgRows);
  assert.deepEqual(diff.mismatches, []);
}

async function workspace(url: string, spec: PipelineSpec) {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-compaction-'));
  const duckdbPath = join(dir, 'lake.duckdb');
  const store = new CheckpointStore(join(dir, 'state.db'));
  const lake = new Lake();
  const pipeline = resolvePipeline(spec, { databaseUrl: url, duckdbPath, parquetDir: join(dir, 'parquet') });
  const logged: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).trim().split('\n')) logged.push(JSON.parse(line));
      done();
    },
  });
  const deps: RunDeps = { lake, store, log: pino({ level: 'info' }, sink), compactMinDeleted: MIN };
  const catalog = (sql: string) => withDuckDbFile(duckdbPath, (s) => s.all(sql.replaceAll('$db', s.catalogName)));
  return {
    duckdbPath,
    store,
    logged,
    /** A run as the pool runs it: the table's count recorded for the next run (and `status`). */
    async run() {
      const summary = await runPipeline(compilePipeline(pipeline), deps);
      if (summary.targetRows !== undefined) store.recordTargetRows(spec.name, summary.targetRows);
      return summary;
    },
    /** DuckDB's row slots of the table: its rows and the deleted ones. */
    async slots() {
      const rows = await catalog(`SELECT estimated_size::BIGINT AS n FROM duckdb_tables() WHERE database_name = '$db' AND table_name = '${spec.target.table}'`);
      return Number(rows[0].n);
    },
    catalog,
    async close() {
      await lake.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('compactionDue: as many deleted slots as rows, and at least the minimum', () => {
  assert.equal(compactionDue(1_000, 500, 100), true);
  assert.equal(compactionDue(999, 500, 100), false, 'fewer deleted slots than rows');
  assert.equal(compactionDue(150, 0, 100), true, 'every row deleted');
  assert.equal(compactionDue(150, 60, 100), false, 'fewer deleted than the minimum');
});

test('a keyed table is copied once its deleted slots reach its rows: same rows, key, source record and view', async () => {
  const url = await pgs.createDatabase('compact_keyed');
  await pgs.query(
    url,
    `CREATE TABLE events (id int PRIMARY KEY, note text, amount numeric(12,2), deleted_at timestamptz, updated_at timestamptz NOT NULL);
     INSERT INTO events SELECT g, 'row ' || g, g / 7.0, CASE WHEN g % 10 = 0 THEN timestamptz '2025-01-01' END,
       timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond' FROM generate_series(1, 400) AS g;`,
  );
  const spec: PipelineSpec = { ...tableSpec('events', 150), source: { ...tableSpec('events', 150).source, softDelete: 'deleted_at' } };
  const ws = await workspace(url, spec);
  try {
    const update = (where: string, n: number) =>
      pgs.query(url, `UPDATE events SET note = note || ' v${n}', amount = amount + 1, updated_at = updated_at + interval '1 day' * ${n} WHERE ${where}`);
    await ws.run();
    assert.equal(await ws.slots(), 400);
    const recordBefore = await ws.catalog(`SELECT comment FROM duckdb_tables() WHERE database_name = '$db' AND table_name = 'events'`);
    assert.match(String(recordBefore[0].comment), /^pgduck source \{/);

    await update('id <= 250', 1);
    await ws.run();
    assert.equal(await ws.slots(), 650, 'not due at the start of that run: 0 deleted');
    await update('id > 150', 2);
    await ws.run();
    assert.equal(await ws.slots(), 900, 'not due: 250 deleted slots, 400 rows');
    assert.equal(ws.logged.filter((l) => /compacted/.test(l.msg)).length, 0);

    // 500 deleted slots, 400 rows: this run copies the table first, then applies its 10 changed rows.
    await update('id <= 10', 3);
    const summary = await ws.run();
    assert.equal(summary.rows, 10);
    assert.equal(await ws.slots(), 410, 'the copy holds the 400 rows; the run then replaced 10');
    const said = ws.logged.filter((l) => /compacted/.test(l.msg));
    assert.equal(said.length, 1, JSON.stringify(ws.logged.map((l) => l.msg)));
    assert.match(said[0].msg, /compacted events: 400 rows copied, 500 deleted row slots freed/);

    assertSame(await compareTables(url, 'events', ws.duckdbPath, 'events', ['id']));
    const key = await ws.catalog(
      `SELECT constraint_column_names AS c FROM duckdb_constraints() WHERE database_name = '$db' AND table_name = 'events' AND constraint_type = 'PRIMARY KEY'`,
    );
    assert.deepEqual(
      key.map((k) => k.c),
      [['id']],
    );
    assert.deepEqual(await ws.catalog(`SELECT comment FROM duckdb_tables() WHERE database_name = '$db' AND table_name = 'events'`), recordBefore);
    const living = await ws.catalog(`SELECT count(*)::INT AS n, sum(amount)::VARCHAR AS s FROM $db.main.events_current`);
    const source = await pgs.query(url, 'SELECT count(*)::int AS n, sum(amount)::text AS s FROM events WHERE deleted_at IS NULL');
    assert.deepEqual(living, [{ n: source.rows[0].n, s: source.rows[0].s }]);
    assert.equal(living[0].n, 360);
    const tables = await ws.catalog(`SELECT table_name FROM duckdb_tables() WHERE database_name = '$db' ORDER BY 1`);
    assert.deepEqual(
      tables.map((t) => t.table_name),
      ['_pgduck_progress', 'events'],
      'no copy left behind',
    );

    // Compacted: the next runs are not due again (the stored count says so) until as many slots are deleted again.
    await update('id <= 20', 4);
    await ws.run();
    assert.equal(await ws.slots(), 430);
    assert.equal(ws.logged.filter((l) => /compacted/.test(l.msg)).length, 1);
  } finally {
    await ws.close();
  }
});

test('a keyless target keeps its key comments; a table with an index people added is left alone, with a warning', async () => {
  const url = await pgs.createDatabase('compact_keyless');
  await pgs.query(
    url,
    `CREATE TABLE items (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
     INSERT INTO items SELECT g, 'row ' || g, timestamptz '2025-01-01' + g * interval '1 second' FROM generate_series(1, 200) AS g;
     CREATE TABLE marked (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
     INSERT INTO marked SELECT g, 'row ' || g, timestamptz '2025-01-01' + g * interval '1 second' FROM generate_series(1, 200) AS g;`,
  );
  const keyless: PipelineSpec = { ...tableSpec('items', 500), target: { schema: 'main', table: 'items', keyIndex: false } };
  const ws = await workspace(url, keyless);
  const ws2 = await workspace(url, tableSpec('marked', 500));
  try {
    await ws.run();
    await ws2.run();
    await ws2.catalog(`CREATE INDEX by_note ON $db.main.marked (note)`);
    for (let n = 1; n <= 2; n++) {
      await pgs.query(url, `UPDATE items SET note = note || '!', updated_at = updated_at + interval '1 day'`);
      await pgs.query(url, `UPDATE marked SET note = note || '!', updated_at = updated_at + interval '1 day'`);
      await ws.run();
      await ws2.run();
    }
    // Every row updated twice: each run that starts with 200 deleted slots beside the 200 rows compacts the keyless
    // table (the second and this one), never the one with an index, which says why once.
    await pgs.query(url, `UPDATE items SET note = 'last', updated_at = updated_at + interval '1 day' WHERE id = 1`);
    await pgs.query(url, `UPDATE marked SET note = 'last', updated_at = updated_at + interval '1 day' WHERE id = 1`);
    await ws.run();
    await ws2.run();
    assert.equal(await ws.slots(), 201);
    const comments = await ws.catalog(
      `SELECT column_name, comment FROM duckdb_columns() WHERE database_name = '$db' AND table_name = 'items' AND comment IS NOT NULL`,
    );
    assert.deepEqual(comments, [{ column_name: 'id', comment: 'pgduck key column 1' }]);
    assertSame(await compareTables(url, 'items', ws.duckdbPath, 'items', ['id']));

    assert.equal(await ws2.slots(), 601, 'not compacted');
    const warned = ws2.logged.filter((l) => /not compacted/.test(l.msg));
    assert.equal(warned.length, 1);
    assert.match(warned[0].msg, /marked holds 200 deleted row slots beside its 200 rows, but is not compacted: it has index "by_note"/);
    assertSame(await compareTables(url, 'marked', ws2.duckdbPath, 'marked', ['id']));
    assert.equal((await ws2.catalog(`SELECT count(*)::INT AS n FROM duckdb_indexes() WHERE database_name = '$db' AND index_name = 'by_note'`))[0].n, 1);
  } finally {
    await ws.close();
    await ws2.close();
  }
});

test('a compaction that fails leaves the table as it was and the run goes on', async () => {
  const url = await pgs.createDatabase('compact_fails');
  await pgs.query(
    url,
    `CREATE TABLE notes (id int PRIMARY KEY, body text, updated_at timestamptz NOT NULL);
     INSERT INTO notes SELECT g, 'row ' || g, timestamptz '2025-01-01' + g * interval '1 second' FROM generate_series(1, 150) AS g;`,
  );
  const ws = await workspace(url, tableSpec('notes', 500));
  try {
    await ws.run();
    // Something of the scratch table's name that is not a table: the copy's first statement fails.
    await ws.catalog(`CREATE VIEW $db.main.notes__pgduck_rebuild AS SELECT 1 AS x`);
    for (let n = 1; n <= 2; n++) {
      await pgs.query(url, `UPDATE notes SET body = body || '!', updated_at = updated_at + interval '1 day'`);
      await ws.run();
    }
    assert.equal(await ws.slots(), 450, 'due (300 deleted beside 150), and not compacted');
    const warned = ws.logged.filter((l) => /compacting notes .* failed/.test(l.msg));
    assert.equal(warned.length, 1, JSON.stringify(ws.logged.map((l) => l.msg)));
    assert.match(warned[0].msg, /The table is as it was and the run goes on/);
    await pgs.query(url, `UPDATE notes SET body = 'last', updated_at = updated_at + interval '1 day' WHERE id = 1`);
    const summary = await ws.run();
    assert.equal(summary.rows, 1, 'the run synced its row all the same');
    assertSame(await compareTables(url, 'notes', ws.duckdbPath, 'notes', ['id']));
    // The view gone, the next run compacts.
    await ws.catalog(`DROP VIEW $db.main.notes__pgduck_rebuild`);
    await pgs.query(url, `UPDATE notes SET body = 'later', updated_at = updated_at + interval '1 day' WHERE id = 2`);
    await ws.run();
    assert.equal(await ws.slots(), 151);
    assertSame(await compareTables(url, 'notes', ws.duckdbPath, 'notes', ['id']));
  } finally {
    await ws.close();
  }
});

test('a rebuild killed halfway leaves the table as it was; the next run rebuilds it and keeps its source record', async () => {
  const url = await pgs.createDatabase('compact_killed');
  await pgs.query(
    url,
    `CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2), updated_at timestamptz NOT NULL);
     INSERT INTO orders SELECT g, g * 1.5, timestamptz '2025-01-01' + g * interval '1 second' FROM generate_series(1, 300) AS g;`,
  );
  const ws = createWorkspace();
  try {
    ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: orders\nbatch_size: 100\n');
    const env = ws.env(url);
    const first = await runCli(['run', '--once'], env);
    assert.equal(first.code, 0, first.stderr);
    const inspect = () =>
      withDuckDbFile(ws.duckdbPath, async (s) => ({
        type: (
          await s.all(`SELECT data_type FROM duckdb_columns() WHERE database_name = '${s.catalogName}' AND table_name = 'orders' AND column_name = 'id'`)
        )[0]?.data_type,
        tables: (await s.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = '${s.catalogName}' ORDER BY 1`)).map((t) => t.table_name),
        comment: (await s.all(`SELECT comment FROM duckdb_tables() WHERE database_name = '${s.catalogName}' AND table_name = 'orders'`))[0]?.comment,
        rows: (await s.all(`SELECT count(*)::INT AS n, sum(total)::VARCHAR AS t FROM ${s.catalog}.main.orders`))[0],
      }));
    const before = await inspect();
    assert.equal(before.type, 'INTEGER');
    assert.match(String(before.comment), /^pgduck source \{/);

    // A widened key: DuckDB cannot ALTER a key column's type, so the table is rebuilt (the compaction's transaction).
    await pgs.query(
      url,
      `ALTER TABLE orders ALTER COLUMN id TYPE bigint; UPDATE orders SET total = total + 1, updated_at = updated_at + interval '1 day' WHERE id = 5`,
    );
    const killed = await runCli(['run', '--once'], { ...env, PGDUCK_FAULT: 'mid-rebuild' });
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.match(killed.stderr, /PGDUCK_FAULT: killing at mid-rebuild/);
    assert.deepEqual(await inspect(), before, 'the table as it was: type, rows, comment, no copy left');

    const again = await runCli(['run', '--once'], env);
    assert.equal(again.code, 0, again.stderr);
    const after = await inspect();
    assert.equal(after.type, 'BIGINT');
    assert.deepEqual(after.tables, before.tables);
    assert.equal(after.comment, before.comment, 'the source record carried over by the rebuild (it was lost before)');
    assertSame(await compareTables(url, 'orders', ws.duckdbPath, 'orders', ['id']));
  } finally {
    ws.cleanup();
  }
});
