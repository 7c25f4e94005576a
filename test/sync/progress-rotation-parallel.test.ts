/**
 * Guard kept from a review (passing): the file's progress record with small row groups, DuckDB session rotation and a
 * parallel bootstrap (runPipeline with groupRows/sessionRows, as test/sync/parallel-bootstrap.test.ts
 * drives it): later runs must not find the file behind the checkpoint (no re-bootstrap).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { Lake } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline } from '../../src/runner/run-pipeline.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { createLogger } from '../../src/log/logger.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { tableSpec } from '../support/table-spec.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

for (const parallel of [1, 3]) {
  test(`rotation every few rows, groups of 2 batches, bootstrap.parallel ${parallel}: no false re-bootstrap`, async () => {
    const url = await pgs.createDatabase(`rot_par_${parallel}`);
    await pgs.query(
      url,
      `CREATE TABLE items (id int PRIMARY KEY, note text, updated_at timestamptz);
       CREATE INDEX ON items (updated_at, id);
       INSERT INTO items SELECT g, 'x', CASE WHEN g % 17 = 0 THEN NULL ELSE '2024-01-01'::timestamptz + (g / 3) * interval '1 second' END FROM generate_series(1, 600) g;`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'pgduck-review-rot-'));
    const duckdbPath = join(dir, 'lake.duckdb');
    const store = new CheckpointStore(join(dir, 'state.db'));
    const lake = new Lake();
    const logs: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'debug', format: 'json', sink: (text) => logs.push(JSON.parse(text) as Record<string, unknown>) });
    const base = tableSpec('items', 20);
    const spec: PipelineSpec = { ...base, bootstrap: { parallel } };
    const pipeline = resolvePipeline(spec, { databaseUrl: url, duckdbPath, parquetDir: join(dir, 'parquet') });
    const run = () => runPipeline(compilePipeline(pipeline), { lake, store, log, groupRows: 40, sessionRows: 90 });
    try {
      await run();
      for (let i = 0; i < 3; i++) {
        await pgs.query(
          url,
          `UPDATE items SET note = 'u${i}', updated_at = now() WHERE id % 7 = ${i}; INSERT INTO items SELECT g, 'n', NULL FROM generate_series(${1000 + i * 10}, ${1005 + i * 10}) g`,
        );
        await new Promise((r) => setTimeout(r, 50));
        await run();
      }
      const alarms = logs.filter((l) => /bootstraps again|put back to an older copy/.test(String(l.msg)));
      assert.deepEqual(
        alarms.map((l) => l.msg),
        [],
      );
      const diff = await compareTables(url, 'public.items', duckdbPath, 'items', ['id']);
      assert.deepEqual(diff.mismatches, []);
      assert.equal(diff.duckRows, diff.pgRows);
    } finally {
      await lake.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
