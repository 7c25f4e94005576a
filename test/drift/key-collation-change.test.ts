/**
 * Found by review: the keyset `(cursor, key) > ($cursor, $key)` compares a text key in the
 * column's collation. `ALTER TABLE … ALTER COLUMN key TYPE text COLLATE "C"` changes that order
 * without rewriting the table (the indexes are rebuilt, the relfilenode stays) and without any drift
 * pgduck records (the type is still text). A checkpoint inside a group of rows sharing one cursor
 * value (a bulk load's single now(); a run stopped between two batches) then resumes in the new
 * order: a key that sorted after the checkpoint's key before, and before it now, is never read.
 * Here: a run that failed (an injected error) applying its second batch. Now the source identity
 * holds a digest of the columns' collations, and a change re-reads every row, as a rewrite does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { pino } from 'pino';
import { createWorkspace } from '../support/workspace.js';
import { loadWorkspace, readCheckpoint, runOutcome } from '../support/sync-checks.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { checkpointDbPath } from '../../src/runner/settings.js';
import { runAllOnce } from '../../src/runner/pool.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('a text key re-collated between two runs, checkpoint inside a cursor tie: every row is synced', async () => {
  const url = await pgs.createDatabase('key_collation');
  const ws = createWorkspace();
  try {
    const icu = (await pgs.query(url, `SELECT collname FROM pg_collation WHERE collname = 'und-x-icu'`)).rows.length > 0;
    const start = icu ? 'und-x-icu' : 'C';
    const to = icu ? 'C' : 'POSIX';
    await pgs.query(
      url,
      `CREATE TABLE codes (code text COLLATE "${start}" PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
       CREATE INDEX ON codes (updated_at, code);
       INSERT INTO codes VALUES ('0', 'x', '2024-12-01 00:00:00+00');`,
    );
    ws.writePipeline('codes', 'source:\n  table: public.codes\n  primary_key: code\n  cursor: updated_at\ntarget:\n  table: codes\nbatch_size: 2\n');
    const boot = await runOutcome(ws, url);
    assert.ok(boot.ok, `bootstrap: ${boot.ok ? '' : boot.message}`);
    // A bulk load: one transaction, one now() for every row.
    await pgs.query(
      url,
      `INSERT INTO codes VALUES ('a', 'x', '2025-01-01 00:00:00+00'), ('b', 'x', '2025-01-01 00:00:00+00'),
                                ('B', 'x', '2025-01-01 00:00:00+00'), ('c', 'x', '2025-01-01 00:00:00+00');`,
    );
    const order = (await pgs.query(url, `SELECT string_agg(code, ',' ORDER BY updated_at, code) AS o FROM codes`)).rows[0].o;
    assert.equal(order, icu ? '0,a,b,B,c' : '0,B,a,b,c');
    // The next run fails as it applies its second batch, its first committed and checkpointed:
    // inside the tie at 2025-01-01 (one batch per DuckDB transaction).
    const { pipelines, settings } = loadWorkspace(ws.env(url), []);
    const store = new CheckpointStore(checkpointDbPath(settings));
    const lake = new Lake();
    let applied = 0;
    try {
      const [first] = await runAllOnce(
        pipelines,
        {
          lake,
          store,
          log: pino({ level: 'silent' }),
          groupRows: 1,
          onBatch: () => void applied++,
          // A transient failure (a dropped connection, say) as the second batch is applied.
          onStep: (stage, batch) => {
            if (stage === 'upsert' && batch === 3) throw new Error('injected: connection lost');
          },
        },
        1,
      );
      assert.equal(first.ok, false, 'the injected failure');
    } finally {
      await lake.close();
      store.close();
    }
    const inDuck = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT list(code ORDER BY code) AS c FROM codes`))[0].c as string[], {
      readOnly: true,
    });
    assert.equal(inDuck.length, 3, `the first batch of the tie committed: ${JSON.stringify(inDuck)}`);
    assert.ok(readCheckpoint(ws, 'codes')?.position?.cursor.startsWith('2025-01-01'), 'the checkpoint inside the tie');

    const before = (await pgs.query(url, `SELECT pg_relation_filenode('codes')::text AS f`)).rows[0].f;
    await pgs.query(url, `ALTER TABLE codes ALTER COLUMN code TYPE text COLLATE "${to}"`);
    const after = (await pgs.query(url, `SELECT pg_relation_filenode('codes')::text AS f`)).rows[0].f;
    const orderAfter = (await pgs.query(url, `SELECT string_agg(code, ',' ORDER BY updated_at, code) AS o FROM codes`)).rows[0].o;
    assert.equal(after, before, 'no rewrite');
    assert.notEqual(orderAfter, order, 'another order');

    const second = await runOutcome(ws, url);
    assert.ok(second.ok, second.ok ? '' : second.message);
    const synced = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT list(code ORDER BY code) AS c FROM codes`))[0].c as string[], {
      readOnly: true,
    });
    assert.deepEqual([...synced].sort(), ['0', 'B', 'a', 'b', 'c'], `synced after a successful run: ${JSON.stringify(synced)}`);
  } finally {
    ws.cleanup();
  }
});
