/**
 * A type changed between the catalog read and the data read of a batch: the batch was read with the
 * old mapping (an int parsed from text would turn into garbage), so the drift check refuses it
 * before anything lands, and the next run reads it again with the new types.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { introspectTable } from '../../src/postgres/introspect-table.js';
import { mapColumns } from '../../src/stages/extract.js';
import { driftCheckStage } from '../../src/stages/drift-check.js';
import { Lake } from '../../src/duckdb/lake.js';
import { describeTarget } from '../../src/duckdb/target-table.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { createLogger } from '../../src/log/logger.js';
import { newRunMemory } from '../../src/stages/run-memory.js';
import type { BatchState } from '../../src/stages/stage.js';
import { tableSpec } from '../support/table-spec.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a type changed while the batch was read: refused, nothing created or loaded', async () => {
  const url = await pgs.createDatabase('race');
  await pgs.query(url, `CREATE TABLE t (id int PRIMARY KEY, n int, updated_at timestamptz NOT NULL DEFAULT now()); INSERT INTO t (id, n) VALUES (1, 5)`);
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-race-'));
  const pg = await connectPostgres(url);
  const lake = new Lake();
  const store = new CheckpointStore(join(dir, 'state.db'));
  try {
    const spec = tableSpec('t', 10);
    const sourceColumns = (await introspectTable(pg, 'public', 't'))!;
    const columns = mapColumns(spec, sourceColumns);
    await pgs.query(url, `ALTER TABLE t ALTER COLUMN n TYPE text USING 'five'`); // after the catalog read, before the data
    const batch: BatchState = {
      seq: 1,
      phase: 'cursor',
      afterKey: null,
      cursorNullable: false,
      from: null,
      sourceColumns,
      columns,
      rows: [['1', 'five', '2025-01-01 00:00:00+00']],
      rowCount: 1,
      loadColumns: [],
      targetColumns: [],
      last: null,
      safe: null,
      allSafe: true,
      drained: true,
    };
    await lake.withSession(join(dir, 'lake.duckdb'), async (session) => {
      const ctx = {
        spec,
        pg,
        lake: session,
        store,
        parquetDir: dir,
        log: createLogger({ level: 'silent', format: 'json' }),
        generation: 0,
        memory: newRunMemory(),
      };
      await assert.rejects(driftCheckStage.run(ctx, batch), /the source changed while this batch was read \("n" changed type\): nothing was loaded/);
      assert.equal(await describeTarget(session, { schema: 'main', table: 't' }), null);
    });
    assert.deepEqual(store.sourceColumns('t'), []);
  } finally {
    await pg.end();
    await lake.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
