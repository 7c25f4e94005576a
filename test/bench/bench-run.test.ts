/**
 * `npm run bench` itself, at a tiny scale against the test server (BENCH_DATABASE_URL), so the
 * measurement script cannot rot: every phase runs, the synced data is checked by the bench, and the
 * JSON holds every measurement and a verdict per target. The figures are not asserted (no timed
 * assertions); their shape and the row counts are.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BenchResult } from '../../src/bench/bench-result.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { ROOT } from '../support/workspace.js';

let pg: TestPostgres;
let dir: string;

before(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'pgduck-bench-test-'));
});
after(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function bench(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // dist/bench/bench.js, as `npm run bench` runs it (the launcher builds dist/ before the tests): no
    // TypeScript loader in the bench's process nor in the phase processes it starts with its flags.
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', 'bench.js')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('one round at 1,000 and 3,000 rows: every measurement in the JSON, the bench table removed after', async () => {
  const url = await pg.createDatabase('bench_run');
  const json = join(dir, 'result.json');
  const { code, out } = await bench({ BENCH_DATABASE_URL: url, BENCH_SCALE: '1000', BENCH_ROUNDS: '1', BENCH_BATCH: '400', BENCH_JSON: json });
  assert.equal(code, 0, out);
  const result = JSON.parse(readFileSync(json, 'utf8')) as BenchResult;
  assert.deepEqual(result.options.scales, [1000, 3000]);
  assert.deepEqual(
    result.scales.map((s) => [s.rows, s.baseline.rounds.map((r) => r.rows), s.bootstrap.map((b) => [b.batchSize, b.rounds.map((r) => [r.rows, r.batches])])]),
    [
      [1000, [1000], [[400, [[1000, 3]]]]],
      [3000, [3000], [[400, [[3000, 8]]]]],
    ],
    'every bootstrap synced the whole table, 400 rows a batch',
  );
  for (const s of result.scales) {
    // Where the time went: the process's CPU, the run's stages, the reference's two steps. The server
    // is given by URL, so its CPU is not read (null), only a local embedded one's is.
    for (const r of s.bootstrap.flatMap((b) => b.rounds)) {
      assert.ok((r.cpuMs ?? 0) > 0, 'bootstrap CPU');
      assert.equal(r.postgresCpuMs, null);
      assert.ok(r.stagesMs && r.stagesMs.upsert >= 0 && r.stagesMs.read >= 0, JSON.stringify(r.stagesMs));
    }
    assert.ok(s.baseline.rounds.every((r) => (r.cpuMs ?? 0) > 0 && (r.copyMs ?? 0) > 0 && (r.readCsvMs ?? 0) > 0));
    assert.equal(s.incremental.inProcessStagesMs?.length, 1);
    assert.equal(s.incremental.inProcessCpuMs?.length, 1);
    assert.equal(s.incremental.changedRows, 1000);
    assert.equal(s.incremental.inProcessMs.length, 1);
    assert.equal(s.incremental.cliMs.length, 1);
    assert.deepEqual(
      s.queries.map((q) => q.name),
      ['5 most recently updated live rows', 'grouped count and sum'],
    );
  }
  assert.deepEqual(
    result.parquetColumns.map((c) => c.column),
    ['id', 'account_id', 'kind', 'amount', 'qty', 'ratio', 'ok', 'ext', 'payload', 'tags', 'day', 'created_at', 'updated_at', 'deleted_at'],
  );
  assert.equal(result.targets.length, 9, 'ratio, RSS, RSS growth (one batch size), cycle, cycle growth, CLI, two queries, Parquet types');
  assert.ok(result.targets.every((t) => typeof t.met === 'boolean' && t.measured.length > 0));
  assert.match(out, /targets met/);
  assert.match(out, /^where the time goes/m);
  assert.match(out, /^ {2}1,000 {6}pgduck, batch 400 .*: read .*upsert .*; CPU .* process$/m);
  const left = await pg.query(url, `SELECT to_regclass('public.bench_events') IS NULL AS gone`);
  assert.equal(left.rows[0].gone, true);
});

test('a database that has a bench_events table already: refused with exit 2, the table untouched', async () => {
  const url = await pg.createDatabase('bench_refused');
  await pg.query(url, 'CREATE TABLE bench_events (id int PRIMARY KEY); INSERT INTO bench_events SELECT generate_series(1, 7)');
  const { code, out } = await bench({ BENCH_DATABASE_URL: url, BENCH_SCALE: '1000', BENCH_ROUNDS: '1', BENCH_JSON: '' });
  assert.equal(code, 2, out);
  assert.match(out, /public\.bench_events exists already in BENCH_DATABASE_URL/);
  const rows = await pg.query(url, 'SELECT count(*)::int AS n FROM bench_events');
  assert.equal(rows.rows[0].n, 7);
});
