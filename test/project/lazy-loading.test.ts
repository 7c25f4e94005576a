/**
 * The import boundary at runtime (issues 10 and 11): a command loads only the engines it uses. Each
 * command runs as the real CLI process with a preloaded tracer (test/support/trace-modules.mjs) that
 * lists every module the process loaded, static or dynamic, ES module or CommonJS; the test asserts
 * on the packages in that list. import-boundaries.unit.test.ts keeps the static shape of the graph;
 * this test keeps what a command actually pays for at startup (npm run bench:startup measures it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, ROOT, createWorkspace, type Workspace } from '../support/workspace.js';
import { duckIds } from '../support/sync-checks.js';

const TRACER = join(ROOT, 'test', 'support', 'trace-modules.mjs');

/** The engines a command may load only when it uses them. */
const DUCKDB = '@duckdb/node-api';
const PG = 'pg';
const PARQUET = ['parquet-wasm', 'apache-arrow'];
const SQLITE = 'better-sqlite3';
const PRETTY = 'pino-pretty';
/** The /metrics endpoint's library: only for `run --listen`. */
const METRICS = 'prom-client';

interface Traced {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Package names (`pg`, `@duckdb/node-api`) of every module the process loaded. */
  packages: Set<string>;
  /** Every module file loaded, as URL or path. */
  modules: string[];
}

let seq = 0;
function traced(ws: Workspace, url: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Traced> {
  const out = join(ws.dir, `trace-${++seq}.txt`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TRACER, CLI, ...args], {
      env: { ...ws.env(url), PGDUCK_TRACE_MODULES_OUT: out, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const modules = readFileSync(out, 'utf8').split('\n').filter(Boolean);
      rmSync(out, { force: true });
      const packages = new Set(
        modules.flatMap((m) => {
          const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(decodeURIComponent(m));
          return match ? [match[1]] : [];
        }),
      );
      resolve({ code, stdout, stderr, packages, modules });
    });
  });
}

function assertNotLoaded(run: Traced, what: string, forbidden: string[]): void {
  assert.equal(run.code, 0, `${what} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  const loaded = forbidden.filter((p) => run.packages.has(p));
  assert.deepEqual(loaded, [], `${what} loaded ${loaded.join(', ')}; it loaded: ${[...run.packages].sort().join(', ')}`);
}

const SQL = `
CREATE TABLE events (id int PRIMARY KEY, payload text NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON events (updated_at, id);
INSERT INTO events SELECT i, md5(i::text), now() - interval '1 hour' FROM generate_series(1, 200) AS i;`;

describe('each command loads only the engines it uses', () => {
  let pgs: TestPostgres;
  let url: string;
  let ws: Workspace;
  before(async () => {
    pgs = await startPostgres();
    url = await pgs.createDatabase('lazy_loading');
    await pgs.query(url, SQL);
    ws = createWorkspace();
    ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\ntarget:\n  table: events\nbatch_size: 100\nhorizon:\n  margin_ms: 0\n');
  });
  after(async () => {
    ws?.cleanup();
    await pgs?.stop();
  });

  test('validate (offline) and plan load no engine, no Parquet writer and not the ajv compiler', async () => {
    for (const args of [['validate'], ['plan'], ['plan', 'events', '--json']]) {
      const run = await traced(ws, url, args);
      assertNotLoaded(run, `pgduck ${args.join(' ')}`, [DUCKDB, PG, SQLITE, ...PARQUET, PRETTY, '@sinclair/typebox']);
      assert.ok(run.packages.has('yaml'), 'the tracer sees the packages the command does load');
      const compiler = run.modules.filter((m) => /node_modules\/ajv\/dist\/(ajv|core|compile\/index)\.js/.test(m));
      assert.deepEqual(compiler, [], `pgduck ${args.join(' ')} loads the precompiled validator, not ajv's compiler`);
    }
  });

  test('run --once writes keyset batches through DuckDB (no JS Parquet writer), and loads neither DuckDB nor a Parquet writer when there is nothing to do; no prom-client without --listen, no pino-pretty for JSON logs', async () => {
    const first = await traced(ws, url, ['run', '--once']);
    // The CSV data path: COPY into a CSV, DuckDB writes the typed Parquet file; apache-arrow and
    // parquet-wasm are only for the row-array path (null-cursor sweep, backfill, repair).
    assertNotLoaded(first, 'pgduck run --once (200 rows)', [...PARQUET, PRETTY, METRICS]);
    for (const p of [DUCKDB, PG, SQLITE, 'pg-copy-streams'])
      assert.ok(first.packages.has(p), `a run that writes a batch loads ${p} (the tracer sees dynamic imports)`);
    assert.equal((await duckIds(ws, 'events')).length, 200);

    const idle = await traced(ws, url, ['run', '--once']);
    // Nothing new and the target check unchanged (src/stages/target-check.ts): the DuckDB file is not opened.
    assertNotLoaded(idle, 'pgduck run --once (nothing to do)', [DUCKDB, ...PARQUET, PRETTY, METRICS]);
    assert.ok(idle.packages.has(PG), 'an idle run still asks Postgres');
  });

  test('status reads the state store without Postgres or DuckDB; status --connect adds only pg', async () => {
    const status = await traced(ws, url, ['status']);
    assertNotLoaded(status, 'pgduck status', [DUCKDB, PG, ...PARQUET, PRETTY]);
    assert.ok(status.packages.has(SQLITE), 'status reads the state store');
    assert.match(status.stdout, /events/);

    const connect = await traced(ws, url, ['status', '--connect', '--json']);
    assertNotLoaded(connect, 'pgduck status --connect', [DUCKDB, ...PARQUET, PRETTY]);
    assert.ok(connect.packages.has(PG));
    assert.equal((JSON.parse(connect.stdout) as { lag: Record<string, { rowsBehind: number }> }).lag.events.rowsBehind, 0);
  });
});
