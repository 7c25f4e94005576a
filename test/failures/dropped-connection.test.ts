/**
 * The Postgres connection of one pipeline is terminated (pg_terminate_backend on its
 * application_name `pgduck:<pipeline>`) in the middle of a bootstrap of many batches: that pipeline
 * fails saying the connection was lost and what it left (the batches committed, the checkpoint at
 * the last of them, where the next run resumes); the other pipeline syncs; no checkpoint passes
 * committed data; the next run completes and `pgduck verify` is equal. A connection dropped while
 * the client is idle never takes the process down.
 */
import { decodeFailure } from '../../src/errors/recorded-failure.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type CliResult, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { isConnectionLost } from '../../src/postgres/classify-postgres-error.js';
import { classifyFailure } from '../../src/runner/classify-failure.js';
import { createTable, writeTablePipeline } from './failure-fixture.js';

const ROWS = 40_000;
const BATCH = 500;

describe('a dropped Postgres connection', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('dropped');
    await createTable(server, url, 'big', ROWS);
    await createTable(server, url, 'small', 300);
    ws = createWorkspace();
    writeTablePipeline(ws, 'big', 'big', { batchSize: BATCH });
    writeTablePipeline(ws, 'small', 'small', { batchSize: 100 });
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  const parquetFiles = () => {
    const dir = join(ws.parquetDir, 'big');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.parquet')).length : 0;
  };
  async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
      await sleep(10);
    }
  }

  /** Rows at or below the checkpoint must all be in DuckDB: a checkpoint never passes committed data. */
  async function assertCheckpointCovered(): Promise<void> {
    const cp = readCheckpoint(ws, 'big');
    assert.ok(cp?.position, 'batches were committed before the drop');
    const below = 'WHERE (updated_at, id) <= ($1::timestamptz, $2::int)';
    const pgCount = Number((await server.query(url, `SELECT count(*) AS n FROM public.big ${below}`, [cp.position.cursor, cp.position.key[0]])).rows[0].n);
    const duck = await withDuckDbFile(
      ws.duckdbPath,
      (s) =>
        s.all(
          `SELECT (SELECT count(*) FROM big WHERE (updated_at, id) <= ('${cp.position!.cursor}'::TIMESTAMPTZ, ${Number(cp.position!.key[0])}))::INT AS below,
                  (SELECT count(*) FROM big)::INT AS total`,
        ),
      { readOnly: true },
    );
    assert.equal(duck[0].below, pgCount, 'every source row up to the checkpoint is in DuckDB');
    assert.equal(cp.rowsTotal, pgCount);
    assert.ok(Number(duck[0].total) >= pgCount);
  }

  test('terminated while extracting: the pipeline fails saying so, the checkpoint holds the committed batches, the other pipeline syncs', async () => {
    const run = runCli(['run', '--once'], ws.env(url));
    // Let a few batches commit, then block the next extract behind a lock and terminate the session waiting on it.
    await waitFor('three batches of big', () => parquetFiles() >= 3);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    let result: CliResult;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.big IN ACCESS EXCLUSIVE MODE');
      let pid: number | null = null;
      await waitFor('big waiting on the lock', async () => {
        const r = await locker.query(
          "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pgduck:big' AND wait_event_type = 'Lock'",
        );
        pid = r.rows[0]?.pid ?? null;
        return pid !== null;
      });
      await locker.query('SELECT pg_terminate_backend($1)', [pid]);
      await locker.query('ROLLBACK');
    } finally {
      await locker.end();
    }
    result = await run;
    assert.equal(result.code, 75, 'a lost connection is transient (EX_TEMPFAIL)\n\n' + `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^✓ small: 300 rows in 3 batches/m);
    const line = result.stdout.split('\n').find((l) => l.startsWith('✗ big:')) ?? '';
    const m =
      /^✗ big: pipeline big failed in extract \(batch (\d+)\): the connection to Postgres was lost \(.+\) — (\d+) batches of this run committed \((\d+) rows\); checkpoint not advanced past them; next run re-reads from (.+) \/ (\d+)$/.exec(
        line,
      );
    assert.ok(m, `unexpected message:\n${result.stdout}\n${result.stderr.slice(-2000)}`);
    const [, batch, committed, rows, cursor, key] = m;
    assert.equal(Number(batch), Number(committed) + 1, 'the failed batch is the one after the last committed');
    assert.equal(Number(rows), Number(committed) * BATCH);
    const cp = readCheckpoint(ws, 'big');
    assert.deepEqual(cp?.position, { cursor, key: [key] }, 'the message names the stored checkpoint');
    assert.equal(cp?.batchesTotal, Number(committed));
    assert.equal(cp?.lastStatus, 'failed');
    assert.match(cp?.lastError ?? '', /the connection to Postgres was lost/);
    assert.deepEqual([decodeFailure(cp?.lastError ?? '').kind, decodeFailure(cp?.lastError ?? '').code], ['transient', 'PG_CONNECTION_LOST']);
    await assertCheckpointCovered();

    const again = await runCli(['run', '--once'], ws.env(url));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, new RegExp(`^✓ big: ${ROWS - Number(rows)} rows`, 'm'), 'the next run resumes at the checkpoint');
    await assertVerified(ws, url);
  });

  test('terminated while the client is idle (between queries): the process survives and reports it for that pipeline only', async () => {
    const reset = await runCli(['reset', 'big', '--drop-target'], ws.env(url));
    assert.equal(reset.code, 0, reset.stderr);
    await server.query(url, "UPDATE public.small SET name = 'after reset' WHERE id = 3");
    const before = parquetFiles();
    const run = runCli(['run', '--once'], ws.env(url));
    await waitFor('three batches of big', () => parquetFiles() >= before + 3);
    // Between its queries the session is idle (Parquet and DuckDB work): terminate it there.
    await waitFor('big idle', async () => {
      const r = await server.query(
        url,
        "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pgduck:big' AND state = 'idle'",
      );
      return r.rows.some((row) => row.done === true);
    });
    const result = await run;
    assert.equal(result.code, 75, 'transient\n\n' + `${result.stdout}\n${result.stderr}`);
    assert.equal(result.signal, null);
    assert.doesNotMatch(result.stderr, /Unhandled|at Client\.|node:events/, 'no crash');
    assert.match(result.stdout, /^✓ small: 1 rows/m);
    assert.match(result.stdout, /^✗ big: pipeline big failed in \S+ \(batch \d+\): the connection to Postgres was lost .* checkpoint not advanced/m);
    await assertCheckpointCovered();
    const again = await runCli(['run', '--once'], ws.env(url));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    await assertVerified(ws, url);
  });

  test('in process: an idle client whose backend is terminated emits no fatal error; its next query says the connection was lost', async () => {
    const client = await connectPostgres(url, { label: 'idle-probe' });
    try {
      const r = await server.query(
        url,
        "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'pgduck:idle-probe'",
      );
      assert.equal(r.rows[0]?.done, true);
      await sleep(300); // the 'error' event arrives while nobody is querying: an unheard one would end this process
      const err = await client.query('SELECT 1').then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err, 'the query on a dead connection fails');
      assert.ok(isConnectionLost(err), String(err));
      const failure = classifyFailure(err);
      assert.match(failure.message, /^the connection to Postgres was lost \(/);
      assert.deepEqual([failure.kind, failure.code], ['transient', 'PG_CONNECTION_LOST']);
    } finally {
      await client.end().catch(() => {});
    }
  });
});
