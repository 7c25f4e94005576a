/**
 * `target.key_index: false`: the DuckDB table has no PRIMARY KEY (no index of every key to load and
 * rewrite each cycle); the key is recorded in its columns' comments. The rows must be exactly the
 * source's all the same (bootstrap, updates, inserts, a composite key), a changed key must still be
 * refused, `verify` must catch a duplicate (the check that stands in for the index), and switching
 * the setting converts the table in place, rows kept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { compareTables } from '../support/compare-tables.js';
import { assertVerified, loadWorkspace, resetCheckpoint, runOnce } from '../support/sync-checks.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { checkpointDbPath } from '../../src/runner/settings.js';
import { runAllOnce } from '../../src/runner/pool.js';
import { verifyPipeline } from '../../src/repair/verify-pipeline.js';
import { repairRows } from '../../src/repair/repair-rows.js';
import { formatVerification } from '../../src/commands/verify.js';
import { join } from 'node:path';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const pipeline = (keyIndex: boolean | null, key = '[region, id]') =>
  `source:\n  table: public.lines\n  primary_key: ${key}\n  cursor: updated_at\ntarget:\n  table: lines\n${keyIndex === null ? '' : `  key_index: ${keyIndex}\n`}batch_size: 400\n`;

/** Rows of a query on the workspace's DuckDB file, read-only. */
function duckAll(ws: Workspace, sql: string): Promise<Record<string, unknown>[]> {
  return withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true });
}

/** The target's PRIMARY KEY constraint (null: none) and the columns' key comments, in column order. */
async function targetKey(ws: Workspace): Promise<{ primaryKey: string[] | null; comments: Record<string, string> }> {
  const pk = await duckAll(ws, `SELECT constraint_column_names AS c FROM duckdb_constraints() WHERE table_name = 'lines' AND constraint_type = 'PRIMARY KEY'`);
  const cols = await duckAll(ws, `SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'lines' AND comment IS NOT NULL ORDER BY column_index`);
  return {
    primaryKey: pk.length === 0 ? null : (pk[0].c as string[]).map(String),
    comments: Object.fromEntries(cols.map((r) => [String(r.column_name), String(r.comment)])),
  };
}

async function duckCounts(ws: Workspace): Promise<{ rows: number; keys: number }> {
  const [r] = await duckAll(ws, `SELECT count(*) AS n, count(DISTINCT (region, id)) AS k FROM lines`);
  return { rows: Number(r.n), keys: Number(r.k) };
}

async function seed(url: string): Promise<void> {
  await pgs.query(
    url,
    `CREATE TABLE lines (region text NOT NULL, id int NOT NULL, note text, amount numeric(10,2), updated_at timestamptz NOT NULL, PRIMARY KEY (region, id));
     CREATE INDEX ON lines (updated_at, region, id);
     INSERT INTO lines SELECT r, g, 'row ' || g, g / 7.0, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
     FROM generate_series(1, 1500) AS g, unnest(array['eu', 'us']) AS r;`,
  );
}

test('key_index false: no PRIMARY KEY, the key in column comments, every row as the source has it after a bootstrap and updates', async () => {
  const url = await pgs.createDatabase('keyindex_sync');
  const ws = createWorkspace();
  try {
    await seed(url);
    ws.writePipeline('lines', pipeline(false));
    await runOnce(ws, url);
    assert.deepEqual(await targetKey(ws), { primaryKey: null, comments: { region: 'pgduck key column 1', id: 'pgduck key column 2' } });
    assert.deepEqual(await compareTables(url, 'public.lines', ws.duckdbPath, 'lines', ['region', 'id']), { pgRows: 3000, duckRows: 3000, mismatches: [] });

    // Updates (each key replaced, never added twice), inserts, and an update of rows in two batches.
    await pgs.query(
      url,
      `UPDATE lines SET note = 'changed ' || id, updated_at = timestamptz '2025-02-01 00:00:00+00' + id * interval '1 second' WHERE id % 3 = 0;
       INSERT INTO lines SELECT 'ap', g, 'new', 1, timestamptz '2025-03-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 500) AS g;`,
    );
    await runOnce(ws, url);
    assert.deepEqual(await compareTables(url, 'public.lines', ws.duckdbPath, 'lines', ['region', 'id']), { pgRows: 3500, duckRows: 3500, mismatches: [] });
    assert.deepEqual(await duckCounts(ws), { rows: 3500, keys: 3500 });
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});

test('key_index false: verify reports a duplicated key; a changed primary_key is refused as with the index', async () => {
  const url = await pgs.createDatabase('keyindex_guard');
  const ws = createWorkspace();
  try {
    await seed(url);
    ws.writePipeline('lines', pipeline(false));
    await runOnce(ws, url);

    // A duplicate no PRIMARY KEY refuses: verify is the check that finds it.
    // And a key held twice that the source does not have: one duplicate and one extra, not two extras.
    await withDuckDbFile(ws.duckdbPath, async (s) => {
      await s.run(`INSERT INTO lines SELECT * FROM lines WHERE region = 'eu' AND id = 7`);
      await s.run(`INSERT INTO lines SELECT 'zz', 1, note, amount, updated_at FROM lines WHERE region = 'eu' AND id = 8`);
      await s.run(`INSERT INTO lines SELECT * FROM lines WHERE region = 'zz'`);
    });
    assert.deepEqual(await duckCounts(ws), { rows: 3003, keys: 3001 });
    const { pipelines } = loadWorkspace(ws.env(url), []);
    const verdict = await verifyPipeline(pipelines[0], { limit: 100 });
    assert.equal(verdict.equal, false, 'verify finds the duplicated key');
    assert.deepEqual(
      verdict.verdict?.differences.map((d) => ({ kind: d.kind, key: d.key })),
      [
        { kind: 'duplicate', key: { region: 'eu', id: '7' } },
        { kind: 'duplicate', key: { region: 'zz', id: '1' } },
        { kind: 'extra', key: { region: 'zz', id: '1' } },
      ],
    );
    assert.deepEqual([verdict.verdict?.duplicate, verdict.verdict?.extra], [2, 1]);
    const printed = formatVerification(verdict);
    assert.match(printed, /: 3 differing rows \(source 3000 rows, target 3003 rows: 0 missing, 1 extra, 0 changed, 2 duplicated\)/);
    assert.match(printed, /\n {4}duplicate region=eu, id=7 {2}\(held more than once in the target, which has no PRIMARY KEY/);
    // `verify --repair` (repairRows, what it runs) rewrites the duplicated key once and removes the one the source lacks.
    const repairStore = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
    try {
      const repaired = await repairRows(
        pipelines[0],
        (verdict.verdict?.differences ?? []).map((d) => d.tuple),
        { store: repairStore, parquetDir: ws.parquetDir },
      );
      assert.deepEqual([repaired.written, repaired.removed], [1, 2], 'eu/7 written once; both copies of zz/1 removed');
    } finally {
      repairStore.close();
    }
    assert.deepEqual(await duckCounts(ws), { rows: 3000, keys: 3000 });
    await assertVerified(ws, url);

    // The key recorded in the comments is what a changed primary_key is checked against.
    // (From a fresh checkpoint: a position on the old key does not compare with the new one.)
    resetCheckpoint(ws, 'lines');
    ws.writePipeline('lines', pipeline(false, '[id, region]'));
    const settings = loadWorkspace(ws.env(url), []);
    const store = new CheckpointStore(checkpointDbPath(settings.settings));
    const lake = new Lake();
    try {
      const [outcome] = await runAllOnce(settings.pipelines, { lake, store, log: pino({ level: 'silent' }) }, 1);
      assert.equal(outcome.ok, false);
      assert.ok(!outcome.ok && outcome.kind === 'needs-action', `a changed key needs action: ${JSON.stringify(outcome)}`);
      assert.match(!outcome.ok ? outcome.message : '', /keyed on \(region, id\), the pipeline now on \(id, region\)/);
    } finally {
      await lake.close();
      store.close();
    }
  } finally {
    ws.cleanup();
  }
});

test('switching key_index converts the table once, rows kept: to comments and back to a PRIMARY KEY', async () => {
  const url = await pgs.createDatabase('keyindex_switch');
  const ws = createWorkspace();
  try {
    await seed(url);
    ws.writePipeline('lines', pipeline(null));
    await runOnce(ws, url);
    assert.deepEqual(await targetKey(ws), { primaryKey: ['region', 'id'], comments: {} });

    const change = async (note: string) => {
      await pgs.query(url, `UPDATE lines SET note = '${note}', updated_at = now() WHERE id <= 10`);
      await runOnce(ws, url);
      assert.deepEqual(await compareTables(url, 'public.lines', ws.duckdbPath, 'lines', ['region', 'id']), { pgRows: 3000, duckRows: 3000, mismatches: [] });
    };
    ws.writePipeline('lines', pipeline(false));
    await change('to comments');
    assert.deepEqual(await targetKey(ws), { primaryKey: null, comments: { region: 'pgduck key column 1', id: 'pgduck key column 2' } });

    ws.writePipeline('lines', pipeline(true));
    await change('to an index');
    assert.deepEqual(await targetKey(ws), { primaryKey: ['region', 'id'], comments: {} });

    const events = withStore(ws, (s) =>
      s
        .schemaEvents('lines')
        .filter((e) => e.kind === 'key_index')
        .map((e) => e.detail),
    );
    assert.equal(events.length, 2);
    assert.match(events[0], /recorded in column comments/);
    assert.match(events[1], /now the table's PRIMARY KEY/);
  } finally {
    ws.cleanup();
  }
});

function withStore<T>(ws: Workspace, fn: (s: CheckpointStore) => T): T {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}
