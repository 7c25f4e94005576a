/**
 * Found by review (rows a cursor cannot see): the source guard records a "rewritten" re-read when the
 * table's relfilenode (for a partitioned table, its leaves') moves, and the README promises that this
 * re-read inserts the rows whose key DuckDB lacks: a partition attached with its old rows, rows
 * inserted again with old cursors after a TRUNCATE. It did not, every run reporting success:
 *  1. a table of key and cursor only: no column to re-read, so no re-read was recorded;
 *  2. a rewrite re-read still pending (a run killed during it) when a partition is attached: it
 *     resumed from its key position, past the attached keys;
 *  3. a partition detached, loaded with old rows and attached again: the same leaves, no rewrite seen
 *     (the identity now holds each attachment's pg_inherits xmin);
 *  4. hard_delete_mode mark: a marked row restored with its old cursor stayed marked (hidden);
 *  5. schema_evolution freeze with a source column left out of DuckDB: the re-read compared its
 *     columns with every source column, not the target's, and inserted nothing.
 * Fixed in src/state/checkpoint-store.ts (recordRewrite), src/stages/backfill.ts and
 * src/postgres/source-identity.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

async function sourceIds(url: string, table: string): Promise<number[]> {
  return ((await pgs.query(url, `SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM ${table}`)).rows[0].ids as number[]).map(Number);
}

/** The source holds `rows` rows and DuckDB every one of them; returns the source's ids and DuckDB's. */
async function assertNoneMissing(ws: Workspace, url: string, table: string, rows: number): Promise<{ source: number[]; target: number[] }> {
  const source = await sourceIds(url, table);
  const target = await duckIds(ws, table);
  assert.equal(source.length, rows);
  assert.deepEqual(
    source.filter((id) => !target.includes(id)),
    [],
    `rows of ${table} in Postgres that DuckDB lacks`,
  );
  return { source, target };
}

test('a partition attached with old rows to a table of only key and cursor columns: its rows reach DuckDB', async () => {
  const url = await pgs.createDatabase('review_attach_keyonly');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE links (id int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
       CREATE TABLE links_1 PARTITION OF links FOR VALUES FROM (1) TO (1000);
       CREATE INDEX ON links (updated_at, id);
       INSERT INTO links SELECT g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;
       CREATE TABLE links_0 (LIKE links INCLUDING DEFAULTS);
       INSERT INTO links_0 SELECT -g, '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
    );
    ws.writePipeline('links', 'source:\n  table: public.links\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: links\nbatch_size: 5\n');
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'links')).length, 20);

    await pgs.query(url, `ALTER TABLE links ATTACH PARTITION links_0 FOR VALUES FROM (-1000) TO (1)`);
    await runOnce(ws, url);
    await runOnce(ws, url);

    const { source } = await assertNoneMissing(ws, url, 'links', 30);
    // The history holds the re-read's file (no column to fill, rows to insert): a rebuild has every row.
    const rebuilt = await runCli(['replay', 'links', '--drop-target'], ws.env(url));
    assert.equal(rebuilt.code, 0, rebuilt.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'links'), source);
  } finally {
    ws.cleanup();
  }
});

test('rows inserted again with old cursors after a TRUNCATE, in a table of only key and cursor columns: they reach DuckDB', async () => {
  const url = await pgs.createDatabase('review_truncate_keyonly');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE tags (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON tags (updated_at, id);
       INSERT INTO tags SELECT g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline('tags', 'source:\n  table: public.tags\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: tags\nbatch_size: 5\n');
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'tags')).length, 20);

    // A restore of an older dump that also holds rows (ids 101..110) with cursors behind the checkpoint.
    await pgs.query(
      url,
      `TRUNCATE tags;
       INSERT INTO tags SELECT g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;
       INSERT INTO tags SELECT 100 + g, '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
    );
    await runOnce(ws, url);
    await runOnce(ws, url);

    await assertNoneMissing(ws, url, 'tags', 30);
  } finally {
    ws.cleanup();
  }
});

test('a partition attached while a rewrite backfill is still pending: its rows reach DuckDB', async () => {
  const url = await pgs.createDatabase('review_attach_pending');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int NOT NULL, note text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
       CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (1) TO (1000);
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'live', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;
       CREATE TABLE events_0 (LIKE events INCLUDING DEFAULTS);
       INSERT INTO events_0 SELECT -g, 'archived', '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
    );
    ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: events\nbatch_size: 5\n');
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 20);

    // A rewrite (VACUUM FULL moves the leaf's relfilenode): the next run re-reads every row; it is
    // killed after the first backfill batch (a crash, an OOM kill, a lost connection…).
    await pgs.query(url, `VACUUM FULL events_1`);
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-backfill-batch:1' });
    assert.equal(killed.signal, 'SIGKILL', `the fault should kill the run: ${killed.stdout}${killed.stderr}`);

    // Before the next run, a partition with last year's rows is attached.
    await pgs.query(url, `ALTER TABLE events ATTACH PARTITION events_0 FOR VALUES FROM (-1000) TO (1)`);
    await runOnce(ws, url);
    await runOnce(ws, url);

    const { source, target } = await assertNoneMissing(ws, url, 'events', 30);
    assert.deepEqual(target, source, 'each row once');
  } finally {
    ws.cleanup();
  }
});

test('a partition detached, loaded with old rows and attached again between two runs: its new rows reach DuckDB', async () => {
  const url = await pgs.createDatabase('review_detach_reattach');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int NOT NULL, note text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
       CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (1) TO (1000);
       CREATE TABLE events_0 PARTITION OF events FOR VALUES FROM (-1000) TO (1);
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'live', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: events\nbatch_size: 5\n');
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 20);

    // The usual bulk-load pattern: detach the (empty) archive partition, load last year's rows into
    // it with their own cursors, attach it again. No leaf was rewritten, and the set of leaves is as it was.
    await pgs.query(
      url,
      `ALTER TABLE events DETACH PARTITION events_0;
       INSERT INTO events_0 SELECT -g, 'archived', '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;
       ALTER TABLE events ATTACH PARTITION events_0 FOR VALUES FROM (-1000) TO (1);`,
    );
    await runOnce(ws, url);
    await runOnce(ws, url);

    await assertNoneMissing(ws, url, 'events', 30);
  } finally {
    ws.cleanup();
  }
});

test('hard_delete_mode mark: a marked row inserted again with its old cursor after a TRUNCATE is unmarked by the re-read', async () => {
  const url = await pgs.createDatabase('review_mark_truncate');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items SELECT g, 'v' || g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline(
      'items',
      'source:\n  table: public.items\n  primary_key: id\n  cursor: updated_at\n  hard_delete_mode: mark\ntarget:\n  table: items\nbatch_size: 5\n',
    );
    await runOnce(ws, url);
    // Rows 3 and 4 deleted by mistake; the reconcile marks them.
    await pgs.query(url, `DELETE FROM items WHERE id IN (3, 4)`);
    const [rec] = await reconcileOnce(ws, url);
    assert.equal(rec.marked, 2);

    // The table restored from last night's dump: every row as it was, with its own cursor.
    await pgs.query(
      url,
      `TRUNCATE items;
       INSERT INTO items SELECT g, 'v' || g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`,
    );
    await runOnce(ws, url);
    await runOnce(ws, url);
    const [again] = await reconcileOnce(ws, url);
    assert.equal(again.error, null);

    const source = await sourceIds(url, 'items');
    const living = await withDuckDbFile(
      ws.duckdbPath,
      async (s) => ((await s.all(`SELECT list(id ORDER BY id) AS ids FROM items WHERE _pgduck_deleted_at IS NULL`))[0].ids as number[]).map(Number),
      { readOnly: true },
    );
    assert.equal(source.length, 20);
    assert.deepEqual(
      source.filter((id) => !living.includes(id)),
      [],
      'rows living in Postgres that DuckDB still holds as hard-deleted (hidden by items_current)',
    );
  } finally {
    ws.cleanup();
  }
});

test('schema_evolution freeze with a source column left out of DuckDB: a partition attached with old rows reaches DuckDB', async () => {
  const url = await pgs.createDatabase('review_attach_freeze');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int NOT NULL, note text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
       CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (1) TO (1000);
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'live', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline(
      'events',
      'source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: events\nbatch_size: 5\nschema_evolution: freeze\n',
    );
    await runOnce(ws, url);
    // A column the pipeline leaves out (freeze: reported, not added to DuckDB).
    await pgs.query(url, `ALTER TABLE events ADD COLUMN region text`);
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 20);

    await pgs.query(
      url,
      `CREATE TABLE events_0 (LIKE events INCLUDING DEFAULTS);
       INSERT INTO events_0 (id, note, updated_at) SELECT -g, 'archived', '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;
       ALTER TABLE events ATTACH PARTITION events_0 FOR VALUES FROM (-1000) TO (1);`,
    );
    await runOnce(ws, url);
    await runOnce(ws, url);

    await assertNoneMissing(ws, url, 'events', 30);
  } finally {
    ws.cleanup();
  }
});
