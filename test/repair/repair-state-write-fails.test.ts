/**
 * Found by review: `verify --repair` committed its rows into DuckDB, then its state-store write (the
 * count moved past its rows file and deletes file) failed. The rows file is then a batch file numbered past the
 * count: the next run sets it aside as a crashed run's uncommitted batch (*.uncommitted-<time>, never
 * replayed), although its rows were committed. The synced table and the source agree, but
 * `replay --drop-target` rebuilds a table without the row the repair loaded. Its deletes file, numbered
 * past the count too, is replayed after the next run's batch that shares the number before it: a row
 * inserted again in the source since (synced by that run) is removed from the rebuild.
 *
 * The write is made to fail with a trigger on the state store's checkpoints table (a full disk, an I/O
 * error, a lock held past busy_timeout, or a power cut at that moment would do the same); the
 * NULL-cursor digests the repair forgets before its DuckDB commit live in another table and are
 * written as before. A repair now counts the numbers it takes before it writes a file or changes
 * DuckDB: a store that refuses that write fails the repair with nothing changed (first test); the
 * row count it adds after the commit is all that is left to fail then, and that loses nothing (second).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, duckIds, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** A trigger on the state store's checkpoints table that refuses the writes `when` selects. */
function refuseWrites(statePath: string, when: string): () => void {
  const db = new Database(statePath);
  db.exec(`CREATE TRIGGER review_fail BEFORE UPDATE ON checkpoints ${when} BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;`);
  db.close();
  return () => {
    const again = new Database(statePath);
    again.exec('DROP TRIGGER review_fail');
    again.close();
  };
}

/** The source moves on (row 3 inserted again, two rows change), a run syncs it, and replay --drop-target rebuilds the synced table. */
async function thenReplayEqualsSynced(ws: Workspace, url: string, said: string): Promise<void> {
  await pgs.query(
    url,
    `UPDATE events SET note = 'v2', updated_at = '2025-03-01 00:00:00+00'::timestamptz + id * interval '1 minute' WHERE id IN (5, 6);
     INSERT INTO events VALUES (3, 'back again', '2025-03-01 01:00:00+00');`,
  );
  await runOnce(ws, url);
  await assertVerified(ws, url);
  const synced = await duckIds(ws, 'events');
  assert.deepEqual(synced, [...Array.from({ length: 20 }, (_, i) => i + 1), 100]);
  const history = readdirSync(join(ws.parquetDir, 'events'), { recursive: true }).map(String).sort();
  const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
  assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
  const rebuilt = await duckIds(ws, 'events');
  assert.deepEqual(
    rebuilt,
    synced,
    `the rebuilt table is the synced one; missing from the rebuild: ${JSON.stringify(synced.filter((id) => !rebuilt.includes(id)))}, extra: ${JSON.stringify(
      rebuilt.filter((id) => !synced.includes(id)),
    )}; history: ${JSON.stringify(history)}; repair said: ${said}; replay said: ${replayed.stdout.trim()}`,
  );
}

test('verify --repair with a state store that refuses its writes: nothing changed, no file left; repaired again, replay rebuilds the synced table', async () => {
  const url = await pgs.createDatabase('repair_state_refused');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(20, `'v1'`));
    ws.writePipeline('events', eventsPipeline(5));
    await runOnce(ws, url);
    // A back-dated row (its cursor behind the checkpoint: the keyset never reads it) and a hard delete.
    await pgs.query(url, `INSERT INTO events VALUES (100, 'back-dated', '2024-06-01 00:00:00+00'); DELETE FROM events WHERE id = 3;`);

    const allow = refuseWrites(join(ws.stateDir, 'checkpoints.db'), '');
    const refused = await runCli(['verify', 'events', '--repair'], ws.env(url));
    allow();
    assert.notEqual(refused.code, 0, `the repair fails: ${refused.stdout} ${refused.stderr.slice(-1000)}`);
    assert.deepEqual(
      await duckIds(ws, 'events'),
      Array.from({ length: 20 }, (_, i) => i + 1),
      'DuckDB is as verify found it',
    );
    const files = readdirSync(join(ws.parquetDir, 'events'), { recursive: true }).map(String);
    assert.deepEqual(
      files.filter((f) => !/^\d{10}\.parquet$/.test(f) || Number(f.slice(0, 10)) > 4).filter((f) => f !== 'deletes' && f !== 'backfill'),
      [],
      'no file of the failed repair is left',
    );

    const repaired = await runCli(['verify', 'events', '--repair'], ws.env(url));
    assert.equal(repaired.code, 0, `${repaired.stdout} ${repaired.stderr.slice(-1000)}`);
    await thenReplayEqualsSynced(ws, url, repaired.stdout.trim());
  } finally {
    ws.cleanup();
  }
});

test('verify --repair whose row count fails to write after its DuckDB commit: replay --drop-target rebuilds the synced table', async () => {
  const url = await pgs.createDatabase('repair_state_write_fails');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(20, `'v1'`));
    ws.writePipeline('events', eventsPipeline(5));
    await runOnce(ws, url);
    await pgs.query(url, `INSERT INTO events VALUES (100, 'back-dated', '2024-06-01 00:00:00+00'); DELETE FROM events WHERE id = 3;`);

    // Only the write that adds rows to the count (after the DuckDB commit) fails.
    const allow = refuseWrites(join(ws.stateDir, 'checkpoints.db'), 'WHEN NEW.rows_total <> OLD.rows_total');
    const repaired = await runCli(['verify', 'events', '--repair'], ws.env(url));
    allow();
    assert.equal(repaired.code, 0, `${repaired.stdout} ${repaired.stderr.slice(-1000)}`);
    const held = await duckIds(ws, 'events');
    assert.ok(held.includes(100) && !held.includes(3), `the repair was applied: ${JSON.stringify(held)}`);
    await thenReplayEqualsSynced(ws, url, repaired.stdout.trim());
  } finally {
    ws.cleanup();
  }
});
