/**
 * Found by review: a run killed inside a row group leaves the Parquet files of the group's batches on disk,
 * never committed to DuckDB nor checkpointed. The next run re-reads from the checkpoint and rewrites
 * only the batch numbers it needs: when the source lost rows meanwhile, it needs fewer, and the
 * files of the crashed run with higher numbers stay. `pgduck replay --drop-target` applies every
 * file it found, so it brought back rows DuckDB never held and the source no longer has. The next
 * run now sets such files aside (renamed *.uncommitted-<time>) before its first batch, and replay
 * leaves out batch files numbered past the batches the state store counts (replay.test.ts: a replay
 * right after the crash).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, duckIds, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('replay --drop-target does not apply the files of a batch group that was never committed', async () => {
  const url = await pgs.createDatabase('replay_stale');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(3));
    ws.writePipeline('events', eventsPipeline(5));
    await runOnce(ws, url);

    // Three batches of new rows, one row group; the run is killed at the third batch's upsert (nothing committed).
    await pgs.query(
      url,
      `INSERT INTO events SELECT g, 'n' || g, '2025-02-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(11, 25) AS g`,
    );
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-upsert:3' });
    assert.equal(killed.signal, 'SIGKILL', `the run was killed at its fault point: ${killed.stderr.slice(-1000)}`);
    assert.deepEqual(await duckIds(ws, 'events'), [1, 2, 3], 'nothing of the killed group was committed');
    const files = () =>
      readdirSync(join(ws.parquetDir, 'events'))
        .filter((f) => f.endsWith('.parquet'))
        .sort();
    assert.deepEqual(files(), ['0000000001.parquet', '0000000002.parquet', '0000000003.parquet', '0000000004.parquet']);

    // Rows of the killed group's later batches are deleted before the next run reads them.
    await pgs.query(url, `DELETE FROM events WHERE id >= 16`);
    await runOnce(ws, url);
    await assertVerified(ws, url);
    // The killed run's files 2–4 are set aside (not deleted) before the next run, which needed one batch (ids 11–15).
    assert.deepEqual(files(), ['0000000001.parquet', '0000000002.parquet']);
    const aside = readdirSync(join(ws.parquetDir, 'events'))
      .filter((f) => f.includes('.uncommitted-'))
      .sort();
    assert.deepEqual(
      aside.map((f) => f.slice(0, f.indexOf('.uncommitted-'))),
      ['0000000002.parquet', '0000000003.parquet', '0000000004.parquet'],
    );

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.doesNotMatch(replayed.stdout, /never committed/);
    const source = (await pgs.query(url, `SELECT array_agg(id ORDER BY id) AS ids FROM events`)).rows[0].ids as number[];
    const rebuilt = await duckIds(ws, 'events');
    assert.deepEqual(rebuilt, source, `the rebuilt table is the source (replay said: ${replayed.stdout.trim()})`);
    assert.deepEqual(
      rebuilt.filter((id) => !source.includes(id)),
      [],
      `rows replay --drop-target brought back that the synced table never held (replay said: ${replayed.stdout.trim()})`,
    );
  } finally {
    ws.cleanup();
  }
});
