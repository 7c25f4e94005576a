/**
 * Found by review: a `verify --repair` history file says `passDone: true`, which completePasses() takes as
 * proof that the pass it follows reached the end of the table. After a `reset` whose new pass has
 * not finished (a run stopped part-way), a repair therefore makes that partial pass look complete:
 * `replay --drop-target` rebuilds from it alone, and `history prune` (keep: 1) deletes the only
 * complete pass. The rebuilt table lacks every row the partial pass had not re-read yet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds, loadWorkspace, resetCheckpoint, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { Lake } from '../../src/duckdb/lake.js';
import { runAllOnce } from '../../src/runner/pool.js';
import { checkpointDbPath } from '../../src/runner/settings.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** One run, stopped cleanly (as SIGTERM does) once `batches` batches have been applied. */
async function runStoppedAfter(ws: Workspace, url: string, batches: number): Promise<void> {
  const { pipelines, settings } = loadWorkspace(ws.env(url), []);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  let applied = 0;
  try {
    const [o] = await runAllOnce(
      pipelines,
      { lake, store, log: pino({ level: 'silent' }), groupRows: 1, onBatch: () => void applied++, shouldStop: () => applied >= batches },
      1,
    );
    assert.ok(o.ok, o.ok ? '' : o.message);
  } finally {
    await lake.close();
    store.close();
  }
}

test('a verify --repair during a re-bootstrap does not make replay rebuild from the unfinished pass', async () => {
  const url = await pgs.createDatabase('repair_pass');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(30));
    ws.writePipeline('events', eventsPipeline(5, { rest: 'history:\n  keep: 1\n' }));
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 30);

    // pgduck reset events (the table stays), then a run stopped after two batches of the new pass.
    resetCheckpoint(ws, 'events');
    await runStoppedAfter(ws, url, 2);

    // A back-dated row the cursor will never show: verify --repair loads it (a history file of its own).
    await pgs.query(url, `INSERT INTO events VALUES (100, 'back-dated', '2000-01-01 00:00:00+00')`);
    const repaired = await runCli(['verify', 'events', '--repair'], ws.env(url));
    assert.equal(repaired.code, 0, `${repaired.stdout}\n${repaired.stderr.slice(-2000)}`);

    const source = (await pgs.query(url, `SELECT array_agg(id ORDER BY id) AS ids FROM events`)).rows[0].ids as number[];
    assert.deepEqual(await duckIds(ws, 'events'), source, 'the synced table after the repair');

    const dry = await runCli(['history', 'prune', 'events', '--dry-run', '--json'], ws.env(url));
    const prunePlan = JSON.parse(dry.stdout).pipelines[0];

    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    const rebuilt = await duckIds(ws, 'events');
    assert.deepEqual(
      source.filter((id) => !rebuilt.includes(id)),
      [],
      `rows of the synced table that replay --drop-target lost (replay said: ${replayed.stdout.trim()})`,
    );
    assert.deepEqual(prunePlan.delete, [], 'prune deletes no file of the only complete pass');
  } finally {
    ws.cleanup();
  }
});
