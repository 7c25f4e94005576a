/**
 * Found by review: the scheduler takes a pipeline's turn by the table its file named when the run was fired
 * (scheduler.ts, `fire`: turns.take(tableOf(name), …)), but the run reads the file as it is when its
 * pool slot comes (`sync`: scheduled.get(name)). A run that waits for a slot while its file is
 * edited to write another table therefore runs on that table under the old table's turn: nothing
 * keeps it from another pipeline's run in flight on the same table.
 *
 * Scenario: PGDUCK_CONCURRENCY=2. a_big and b_old bootstrap (b_old writes `orders`, key_index
 * false); c_other waits for a slot (its turn is `stuff`'s). b_old.yml is renamed onto c_other.yml
 * (one writer of `orders` in the directory, as the set check requires). b_old's bootstrap goes on
 * ("a run in flight is never cut"); when a_big ends, c_other's run starts with the renamed file,
 * writing `orders` at the same time: with key_index false nothing refuses a key held twice. A run
 * whose table changed while it waited now gives its turn back and is fired again under the new table's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { readCheckpoint } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { startService } from '../support/service-process.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const ORDERS = 60_000;
const BIG = 30_000;

const table = (t: string, rows: number) =>
  `CREATE TABLE ${t} (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
   CREATE INDEX ON ${t} (updated_at, id);
   INSERT INTO ${t} SELECT g, repeat(md5(g::text), 3), '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, ${rows}) AS g;`;
const yaml = (source: string, target: string, batch: number) =>
  `source:\n  table: public.${source}\n  primary_key: id\ntarget:\n  table: ${target}\n  key_index: false\nbatch_size: ${batch}\nschedule: "0 0 1 1 *"\n`;

test('a pipeline waiting for a pool slot, its file replaced by one writing a table in flight: the table holds each key once', async () => {
  const url = await pgs.createDatabase('queued_turn_retarget');
  await pgs.query(url, table('big', BIG) + table('orders', ORDERS) + table('stuff', 100));
  const ws = createWorkspace();
  ws.writePipeline('a_big', yaml('big', 'big', 100));
  const oldPath = ws.writePipeline('b_old', yaml('orders', 'orders', 150));
  ws.writePipeline('c_other', yaml('stuff', 'stuff', 100));
  const svc = startService({ ...ws.env(url), PGDUCK_RELOAD_SECONDS: '1', PGDUCK_CONCURRENCY: '2' });
  const files = (p: string) => {
    const dir = join(ws.parquetDir, p);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.parquet')).length : 0;
  };
  // The workspace goes whatever happens, a failure of the first phase included.
  try {
    try {
      await svc.waitFor('a_big and b_old under way', () => files('a_big') >= 3 && files('b_old') >= 3);
      assert.equal(files('c_other'), 0, 'c_other must still wait for a slot');
      assert.equal(readCheckpoint(ws, 'a_big')?.bootstrapDone ?? false, false, 'a_big must still hold its slot');
      renameSync(oldPath, join(ws.pipelinesDir, 'c_other.yml'));
      await svc.waitFor('c_other bootstrapped (renamed file)', () => readCheckpoint(ws, 'c_other')?.bootstrapDone === true);
      await svc.waitFor(
        'the b_old run ended',
        () => readCheckpoint(ws, 'b_old')?.bootstrapDone === true || svc.lines().some((l) => l.pipeline === 'b_old' && l.level >= 40),
      );
      await sleep(500);
    } finally {
      await svc.stop();
    }
    const [{ rows, keys }] = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT count(*)::INT AS rows, count(DISTINCT id)::INT AS keys FROM orders'), {
      readOnly: true,
    });
    const doubled = await withDuckDbFile(
      ws.duckdbPath,
      (s) => s.all('SELECT id, count(*)::INT AS copies FROM orders GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5'),
      { readOnly: true },
    );
    const c = svc.lines().filter((l) => l.pipeline === 'c_other' && /batch applied|pipeline synced/.test(l.msg));
    assert.deepEqual(
      { rows, keys },
      { rows: ORDERS, keys: ORDERS },
      `DuckDB orders holds ${rows} rows for ${keys} keys (source: ${ORDERS}); keys held twice, first ones: ${JSON.stringify(doubled)}; ` +
        `c_other's first batch at ${c[0]?.time}, b_old's run ended at ${svc.lines().find((l) => l.pipeline === 'b_old' && l.msg === 'pipeline synced')?.time}`,
    );
  } finally {
    ws.cleanup();
  }
});
