/**
 * The `reconcile:` block run by `pgduck run` (src/runner/pipeline-reconcile.ts), against embedded
 * Postgres and a real DuckDB file: the service bootstraps, 41 rows scattered through the table are
 * hard-deleted in Postgres, and the reconcile schedule (every second) removes exactly those keys from
 * DuckDB, through the service's own DuckDB handle, without moving the checkpoint; no reconcile runs
 * before the bootstrap is done; `pgduck status` shows the last and the next reconcile.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const ROWS = 20_000;
const SQL = `
CREATE TABLE orders (id int PRIMARY KEY, region text NOT NULL, amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON orders (updated_at, id);
INSERT INTO orders SELECT i, (ARRAY['eu','us','apac'])[1 + i % 3], i * 1.5, clock_timestamp() - interval '1 hour'
FROM generate_series(1, ${ROWS}) AS i;`;

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('reconcile_schedule');
  await pg.query(url, SQL);
  ws = createWorkspace();
  ws.writePipeline(
    'orders',
    'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 1000\nschedule: "* * * * * *"\nreconcile:\n  schedule: "* * * * * *"\n',
  );
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

interface LogLine {
  level: number;
  msg: string;
  pipeline?: string;
  gone?: number;
  removed?: number;
  bootstrapDone?: boolean;
  reconcile?: string;
}

const logLines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, context: () => string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await sleep(100);
  }
}

test('the reconcile schedule removes exactly the hard-deleted keys, in the service, without moving the checkpoint', async () => {
  const child = spawn(process.execPath, [CLI, 'run'], { env: { ...ws.env(url), PGDUCK_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const lines = () => logLines(stderr);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    assert.equal(await exited, 0, stderr.slice(-3000));
    clearTimeout(timer);
  };
  try {
    await waitFor(
      'the bootstrap',
      () => readCheckpoint(ws, 'orders')?.bootstrapDone === true,
      () => stderr,
    );
    // A reconcile with nothing to do: logged at DEBUG only.
    await waitFor(
      'an idle reconcile',
      () => lines().some((l) => l.msg === 'orders: reconciled: no hard deletes'),
      () => stderr,
    );
    assert.equal(lines().filter((l) => l.msg === 'reconcile scheduled').length, 1);
    // Nothing reconciled before the bootstrap was done (ticks then are skipped, and say why).
    const seen = lines();
    const firstReconcile = seen.findIndex((l) => /reconciled/.test(l.msg));
    const bootstrapped = seen.findIndex((l) => l.msg === 'pipeline synced' && l.bootstrapDone === true);
    assert.ok(bootstrapped >= 0 && bootstrapped < firstReconcile, 'the first reconcile comes after the bootstrap');
    for (const l of seen.filter((l) => l.reconcile === 'skipped')) assert.match(l.msg, /has not finished its bootstrap/);
    assert.ok(!seen.some((l) => l.level >= 30 && /reconcile/.test(l.msg) && l.msg !== 'reconcile scheduled'), 'an idle reconcile says nothing at INFO');

    const checkpoint = readCheckpoint(ws, 'orders');
    const status = await runCli(['status'], ws.env(url));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^ {4}reconciled \S+ \([^)]+\): no hard deletes\n {4}next reconcile \d\d:\d\d:\d\d$/m, status.stdout);

    // 41 scattered hard deletes, in one statement (one reconcile sees all of them or none).
    const deleted = (await pg.query(url, `DELETE FROM orders WHERE id % 487 = 100 RETURNING id`)).rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    assert.equal(deleted.length, 41);
    await waitFor(
      'the reconcile that finds them',
      () => lines().some((l) => l.msg.startsWith('orders: reconciled: 41 rows gone')),
      () => stderr,
    );
    const found = lines().filter((l) => /^orders: reconciled: \d+ rows? gone/.test(l.msg));
    assert.equal(found.length, 1, 'one INFO line for the reconcile that found them');
    assert.equal(found[0].level, 30);
    assert.deepEqual([found[0].gone, found[0].removed], [41, 41]);
    const after = await runCli(['status'], ws.env(url));
    // The last reconcile: this one, or a later one that found nothing more (one runs every second).
    assert.match(after.stdout, /^ {4}reconciled \S+ \([^)]+\): (41 rows gone from the source, 41 removed|no hard deletes)\n {4}next reconcile /m, after.stdout);
    await stop();

    assert.deepEqual(readCheckpoint(ws, 'orders')?.position, checkpoint?.position, 'the checkpoint did not move');
    const pgCount = Number((await pg.query(url, 'SELECT count(*) AS n FROM orders')).rows[0].n);
    const { count, missing } = await withDuckDbFile(
      ws.duckdbPath,
      async (s) => ({
        count: Number((await s.all('SELECT count(*)::INT AS n FROM orders'))[0].n),
        missing: (await s.all(`SELECT i::INT AS id FROM range(1, ${ROWS + 1}) t(i) WHERE i NOT IN (SELECT id FROM orders) ORDER BY 1`)).map((r) =>
          Number(r.id),
        ),
      }),
      { readOnly: true },
    );
    assert.equal(count, pgCount);
    assert.equal(count, ROWS - 41);
    assert.deepEqual(missing, deleted, 'DuckDB lost exactly the keys deleted in Postgres');
    const json = await runCli(['status', '--json'], ws.env(url));
    assert.equal(JSON.parse(json.stdout).pipelines[0].rowsInTarget, pgCount, 'status counts the rows the reconcile left');
    const password = new URL(url).password;
    if (password) assert.ok(!stderr.includes(password), 'the password is never logged');
  } finally {
    if (!stopped) child.kill('SIGTERM');
  }
});

test('run --once --reconcile: each pipeline with a reconcile block is reconciled after its sync; --reconcile alone is a usage error', async () => {
  const db = await pg.createDatabase('reconcile_once');
  await pg.query(db, SQL.replace(`${ROWS}) AS i`, '3000) AS i'));
  const w = createWorkspace();
  try {
    w.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nreconcile:\n  schedule: "0 */10 * * * *"\n');
    w.writePipeline('plain', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: plain\n');
    const first = await runCli(['run', '--once', '--reconcile'], w.env(db));
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /^✓ orders: nothing gone from the source \(source 3000 keys, target 3000;/m);
    assert.doesNotMatch(first.stdout, /plain: .*gone/, 'a pipeline without a reconcile block is not reconciled');
    await pg.query(db, 'DELETE FROM orders WHERE id % 500 = 7');
    const second = await runCli(['run', '--once', '--reconcile'], w.env(db));
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /^✓ orders: 6 keys gone from the source: 6 removed/m);
    const n = await withDuckDbFile(w.duckdbPath, async (s) => Number((await s.all('SELECT count(*)::INT AS n FROM orders'))[0].n), { readOnly: true });
    assert.equal(n, 3000 - 6);
    const usage = await runCli(['run', '--reconcile'], w.env(db));
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--reconcile goes with --once/);
  } finally {
    w.cleanup();
  }
});
