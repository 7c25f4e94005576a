/**
 * A reconcile (or `verify --repair`) run by hand while `pgduck run` is up: the runner's lock does not
 * keep it out (it serialises with the runner on the DuckDB file only), so it can land between a
 * run's read of a batch and that batch's DuckDB session. Found in this stop's audit: the run then
 * applied the rows it had read before the reconcile, over what the reconcile did — a row deleted in
 * the source, removed by the reconcile, was inserted again (and stayed, reported synced, until the
 * next reconcile), and the run's batch file took the number the reconcile's deletes file had taken.
 *
 * A run now compares, when each DuckDB session opens (holding the file, so no repair can land
 * meanwhile), the history count in the state store with the count it left there itself: when a
 * repair moved it, the batches in hand are dropped and the run starts again from the checkpoint.
 * The test holds the run at the door of its first session (a Lake whose withSession waits), runs the
 * reconcile there, and lets the run go on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, duckIds, loadWorkspace, reconcileOnce, runOnce } from '../support/sync-checks.js';
import { eventsPipeline, eventsTableSql } from '../support/events-table.js';
import { Lake } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { checkpointDbPath } from '../../src/runner/settings.js';
import { runAllOnce, type PipelineOutcome } from '../../src/runner/pool.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** A run in this process whose first DuckDB session waits until `open()` is called; `atDoor` resolves when it waits there. */
function heldRun(ws: Workspace, url: string): { atDoor: Promise<void>; open: () => void; done: Promise<PipelineOutcome> } {
  const { pipelines, settings } = loadWorkspace(ws.env(url), []);
  const store = new CheckpointStore(checkpointDbPath(settings));
  const lake = new Lake();
  let arrived!: () => void;
  let open!: () => void;
  const atDoor = new Promise<void>((r) => (arrived = r));
  const door = new Promise<void>((r) => (open = r));
  let held = false;
  const gated = new Proxy(lake, {
    get(target, prop) {
      if (prop === 'withSession') {
        return async (...args: Parameters<Lake['withSession']>) => {
          if (!held) {
            held = true;
            arrived();
            await door;
          }
          return target.withSession(...args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const done = (async () => {
    try {
      const [outcome] = await runAllOnce(pipelines, { lake: gated, store, log: pino({ level: 'silent' }) }, 1);
      return outcome;
    } finally {
      await lake.close();
      store.close();
    }
  })();
  return { atDoor, open, done };
}

async function sourceIds(url: string): Promise<number[]> {
  return (await pgs.query(url, 'SELECT array_agg(id ORDER BY id) AS ids FROM events')).rows[0].ids as number[];
}

test('a reconcile that lands between a run reading a row and applying it: the row it removed stays removed', async () => {
  const url = await pgs.createDatabase('repair_during_run');
  const ws = createWorkspace();
  try {
    await pgs.query(url, eventsTableSql(20));
    ws.writePipeline('events', eventsPipeline(100));
    await runOnce(ws, url);
    assert.deepEqual(await duckIds(ws, 'events'), await sourceIds(url));

    // Row 5 changes: the next run reads it. Held before its session, the row is deleted and reconciled away.
    await pgs.query(url, `UPDATE events SET note = 'v2', updated_at = '2025-02-01 00:00:00+00' WHERE id = 5`);
    const run = heldRun(ws, url);
    await run.atDoor;
    await pgs.query(url, 'DELETE FROM events WHERE id = 5');
    const [record] = await reconcileOnce(ws, url);
    assert.deepEqual([record.gone, record.removed], [1, 1], 'the reconcile removed row 5');
    run.open();
    const outcome = await run.done;
    assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);

    // Row 5 is gone from the source: the run must not have brought it back.
    assert.deepEqual(await duckIds(ws, 'events'), await sourceIds(url));
    await assertVerified(ws, url);

    // The history holds one file per number, and a rebuild from it is the source.
    const names = readdirSync(join(ws.parquetDir, 'events'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.parquet'));
    const numbers = names.map((f) => Number(/(\d+)[^/]*\.parquet$/.exec(f)?.[1]));
    assert.equal(new Set(numbers).size, numbers.length, `one history file per number: ${names.sort().join(', ')}`);
    const replayed = await runCli(['replay', 'events', '--drop-target'], ws.env(url));
    assert.equal(replayed.code, 0, replayed.stderr.slice(-2000));
    assert.deepEqual(await duckIds(ws, 'events'), await sourceIds(url));
  } finally {
    ws.cleanup();
  }
});
