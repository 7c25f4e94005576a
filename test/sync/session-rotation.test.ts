/**
 * A long run ends its DuckDB session every `sessionRows` rows (SESSION_ROWS in the runner) so the
 * Lake can close its instance and give DuckDB's memory back. The batches on either side of a session
 * boundary (the next one is read from Postgres while the session ends) must all land once, with the
 * checkpoint after the last one, bootstrap and incremental alike.
 */
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { Lake, type LakeSession } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline } from '../../src/runner/run-pipeline.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { createLogger } from '../../src/log/logger.js';
import { tableSpec } from '../support/table-spec.js';

/** Counts the sessions the runner opens; the sessions themselves are the Lake's, unchanged. */
class CountingLake extends Lake {
  sessions = 0;
  override withSession<T>(path: string, fn: (session: LakeSession) => Promise<T>): Promise<T> {
    this.sessions++;
    return super.withSession(path, fn);
  }
}

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a run split into DuckDB sessions every 300 rows loads every row once and checkpoints the last', async () => {
  const url = await pgs.createDatabase('rotation');
  await pgs.query(
    url,
    `CREATE TABLE events (id int PRIMARY KEY, note text, amount numeric(10,2), updated_at timestamptz NOT NULL);
     INSERT INTO events SELECT g, 'row ' || g, g / 7.0, timestamptz '2025-01-01 00:00:00+00' + (g / 4) * interval '1 microsecond'
     FROM generate_series(1, 2500) AS g;`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-rotation-'));
  const duckdbPath = join(dir, 'lake.duckdb');
  const store = new CheckpointStore(join(dir, 'state.db'));
  const lake = new CountingLake();
  const spec = tableSpec('events', 100);
  const pipeline = resolvePipeline(spec, { databaseUrl: url, duckdbPath, parquetDir: join(dir, 'parquet') });
  const deps = { lake, store, log: createLogger({ level: 'silent', format: 'json' }), sessionRows: 300 };
  try {
    const first = await runPipeline(compilePipeline(pipeline), deps);
    assert.equal(first.rows, 2500);
    assert.equal(first.batches, 25);
    assert.equal(first.bootstrapDone, true);
    // Batches 1–3, 4–6, …, 22–24, then 25 and the empty read that ends the pass.
    assert.equal(lake.sessions, 9);
    assert.equal(store.get('events')?.rowsTotal, 2500);
    assert.deepEqual(store.get('events')?.position?.key, ['2500']);
    let diff = await compareTables(url, 'public.events', duckdbPath, 'events', ['id']);
    assert.deepEqual(diff, { pgRows: 2500, duckRows: 2500, mismatches: [] });

    // Incremental: 700 changed rows (7 batches) across three sessions.
    await pgs.query(
      url,
      `UPDATE events SET note = 'changed ' || id, updated_at = timestamptz '2025-02-01 00:00:00+00' + id * interval '1 microsecond' WHERE id % 5 = 0 OR id > 2300`,
    );
    lake.sessions = 0;
    const second = await runPipeline(compilePipeline(pipeline), deps);
    const changed = Number((await pgs.query(url, `SELECT count(*) AS n FROM events WHERE note LIKE 'changed %'`)).rows[0].n);
    assert.equal(second.rows, changed);
    assert.equal(lake.sessions, Math.ceil(changed / 300));
    diff = await compareTables(url, 'public.events', duckdbPath, 'events', ['id']);
    assert.deepEqual(diff, { pgRows: 2500, duckRows: 2500, mismatches: [] });
    assert.equal(store.get('events')?.rowsTotal, 2500 + changed);
  } finally {
    await lake.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
