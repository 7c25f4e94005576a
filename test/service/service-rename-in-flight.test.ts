/**
 * Found by review: a pipeline file renamed (orders_old.yml → orders.yml, same target table) while `pgduck run`
 * has the old pipeline's bootstrap in flight. The reload unschedules the old name and starts the new
 * one at once ("a file dropped in is scheduled and runs"), while the old run goes on ("never
 * interrupts a run in flight"): two writers of one DuckDB table at the same time, which the pipeline
 * set check ("one writer per DuckDB table") refuses within one load but nothing holds across a reload.
 * With `target.key_index: false` nothing refuses the second copy of a key: both bootstraps skip their
 * DELETE (each counted the target empty in its own transaction), and both commit. The scheduler now
 * keys its turns by target table: the new name's run waits for the old name's run to end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace } from '../support/workspace.js';
import { readCheckpoint } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const ROWS = 40_000;

test('a pipeline file renamed while its bootstrap runs: the table holds each key once', async () => {
  const url = await pgs.createDatabase('rename_in_flight');
  await pgs.query(
    url,
    `CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
     CREATE INDEX ON orders (updated_at, id);
     INSERT INTO orders SELECT g, repeat(md5(g::text), 3), '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, ${ROWS}) AS g;`,
  );
  const ws = createWorkspace();
  const yaml = `source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\n  key_index: false\nbatch_size: 200\nschedule: "0 0 1 1 *"\n`;
  const oldPath = ws.writePipeline('orders_old', yaml);
  const child = spawn(process.execPath, [CLI, 'run'], { env: { ...ws.env(url), PGDUCK_RELOAD_SECONDS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const waitFor = async (what: string, check: () => boolean) => {
    const until = Date.now() + 180_000;
    while (!check()) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${stderr.slice(-3000)}`);
      await sleep(50);
    }
  };
  // The workspace goes whatever happens, a failure of the first phase included.
  try {
    try {
      const dir = join(ws.parquetDir, 'orders_old');
      // The old pipeline's bootstrap is under way: a few of its batch files are written.
      await waitFor('the bootstrap under way', () => existsSync(dir) && readdirSync(dir).filter((f) => f.endsWith('.parquet')).length >= 3);
      assert.equal(readCheckpoint(ws, 'orders_old')?.bootstrapDone ?? false, false, 'the rename must come while the bootstrap runs');
      renameSync(oldPath, join(ws.pipelinesDir, 'orders.yml'));
      await waitFor('the renamed pipeline bootstrapped', () => readCheckpoint(ws, 'orders')?.bootstrapDone === true);
      await waitFor('the old run finished', () => readCheckpoint(ws, 'orders_old')?.bootstrapDone === true || /orders_old.*(failed|error)/.test(stderr));
      await sleep(500);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const problems = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 40)
      .map((l) => l.msg);
    const [{ rows, keys }] = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT count(*)::INT AS rows, count(DISTINCT id)::INT AS keys FROM orders'), {
      readOnly: true,
    });
    const doubled = await withDuckDbFile(
      ws.duckdbPath,
      (s) => s.all('SELECT id, count(*)::INT AS copies FROM orders GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5'),
      { readOnly: true },
    );
    assert.deepEqual(
      { rows, keys },
      { rows: ROWS, keys: ROWS },
      `DuckDB holds ${rows} rows for ${keys} keys (source: ${ROWS}); keys held twice, first ones: ${JSON.stringify(doubled)}; ` +
        `warnings/errors the service logged: ${JSON.stringify(problems)}`,
    );
  } finally {
    ws.cleanup();
  }
});
