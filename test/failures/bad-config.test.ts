/**
 * A bad pipeline file among good ones (docs/architecture.md, rule 9): `run --once` runs the valid pipelines,
 * prints every problem of the invalid files as `file:line:col path: message`, names each invalid
 * file as not run, and exits with the failure's kind if a valid pipeline failed (4: needs action), else 3 if a file was invalid, else 0.
 * `run` (service) starts the valid pipelines and logs the invalid files; `validate` stays strict.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { createTable, writeTablePipeline } from './failure-fixture.js';

describe('invalid pipeline files among valid ones', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;
  let syntaxFile: string;
  let schemaFile: string;
  let clashFile: string;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('bad_config');
    await createTable(pg, url, 'alpha', 300);
    await createTable(pg, url, 'beta', 200);
    ws = createWorkspace();
    writeTablePipeline(ws, 'alpha', 'alpha', { batchSize: 100 });
    writeTablePipeline(ws, 'beta', 'beta');
    // A YAML syntax error (unclosed flow sequence), and a file that parses but breaks the schema twice.
    syntaxFile = ws.writePipeline('gamma', 'source:\n  table: public.alpha\n  primary_key: [id\ntarget:\n  table: gamma\n');
    schemaFile = ws.writePipeline(
      'delta',
      'source:\n  table: public.beta\n  primary_key: id\n  cursr: updated_at\ntarget:\n  table: delta\nbatch_size: "ten"\n',
    );
    // Valid on its own, but writes beta's DuckDB table: a cross-file problem refuses only this later file.
    clashFile = ws.writePipeline('zeta', 'source:\n  table: public.alpha\n  primary_key: id\ntarget:\n  table: beta\n');
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  const count = (table: string) =>
    withDuckDbFile(ws.duckdbPath, async (s) => Number((await s.all(`SELECT count(*)::INT AS n FROM ${table}`))[0].n), { readOnly: true });

  test('run --once runs the valid pipelines, prints every problem, names the invalid files, exits 3', async () => {
    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 3, `${res.stdout}\n${res.stderr}`);
    assert.match(res.stdout, /^✓ alpha: 300 rows in 3 batches/m);
    assert.match(res.stdout, /^✓ beta: 200 rows in 1 batches/m);
    assert.equal(await count('alpha'), 300);
    assert.equal(await count('beta'), 200, 'beta keeps its one writer: zeta did not run');

    // Every problem, in the validate format: file:line:col path: message.
    const problemLines = res.stderr.split('\n').filter((l) => l.startsWith(ws.pipelinesDir));
    for (const line of problemLines) assert.match(line, /^\S+\.yml:\d+:\d+( [\w.[\]]+)?: .+/, line);
    assert.ok(
      problemLines.some((l) => l.startsWith(`${syntaxFile}:4:1: YAML syntax error`)),
      res.stderr,
    );
    assert.ok(
      problemLines.some((l) => l.startsWith(`${schemaFile}:4:3 source.cursr: unknown key`)),
      res.stderr,
    );
    assert.ok(
      problemLines.some((l) => l.startsWith(`${schemaFile}:7:13 batch_size: must be a whole number`)),
      res.stderr,
    );
    assert.ok(
      problemLines.some((l) => l.startsWith(`${clashFile}:5:10 target.table: DuckDB table \`beta\` is already written by pipeline \`beta\``)),
      res.stderr,
    );
    // The same problems validate prints (it stays the strict gate).
    const validate = await runCli(['validate'], ws.env(url));
    assert.equal(validate.code, 3);
    assert.deepEqual(
      problemLines,
      validate.stdout.split('\n').filter((l) => l.startsWith(ws.pipelinesDir)),
    );

    for (const file of [syntaxFile, schemaFile, clashFile]) assert.match(res.stdout, new RegExp(`^✗ ${file}: not run: invalid configuration`, 'm'));
    assert.match(res.stderr, /3 pipeline files invalid, not run: /);
    assert.doesNotMatch(res.stderr, /nothing was run/);

    // status shows the invalid ones as failed, with the first problem; no checkpoint for them.
    const status = await runCli(['status', '--json'], ws.env(url));
    const rows = JSON.parse(status.stdout).checkpoints as { pipeline: string; lastStatus: string; lastError: string | null; position: unknown }[];
    const gamma = rows.find((r) => r.pipeline === 'gamma');
    assert.equal(gamma?.lastStatus, 'failed');
    assert.match(gamma?.lastError ?? '', /^invalid configuration, not run: .*gamma\.yml:4:1: YAML syntax error/);
    assert.equal(gamma?.position, null);
    assert.equal(rows.find((r) => r.pipeline === 'alpha')?.lastStatus, 'ok');
  });

  test('a valid pipeline that fails makes the exit code that of its kind (a missing table: 4, needs action); the others still run', async () => {
    const broken = writeTablePipeline(ws, 'omega', 'no_such_table');
    try {
      await pg.query(url, "UPDATE public.alpha SET name = 'changed' WHERE id = 5");
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stdout, /^✗ omega: pipeline omega failed in extract \(batch 1\): source table public\.no_such_table does not exist/m);
      assert.match(res.stdout, /^✓ alpha: 1 rows/m);
      assert.match(res.stdout, new RegExp(`^✗ ${syntaxFile}: not run`, 'm'));
      assert.equal(readCheckpoint(ws, 'omega')?.position ?? null, null);
    } finally {
      rmSync(broken);
    }
  });

  test('--only: a named invalid file is not run (exit 3); invalid files not named are only mentioned', async () => {
    const named = await runCli(['run', '--once', '--only', 'beta', 'gamma'], ws.env(url));
    assert.equal(named.code, 3, named.stderr);
    assert.match(named.stdout, /^✓ beta/m);
    assert.match(named.stdout, new RegExp(`^✗ ${syntaxFile}: not run`, 'm'));
    assert.doesNotMatch(named.stdout + named.stderr, /delta\.yml:\d/, 'problems of files not named are not printed');
    assert.match(named.stderr, /note: 2 other pipeline files invalid .*delta\.yml/);

    const other = await runCli(['run', '--once', '--only', 'alpha'], ws.env(url));
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stderr, /note: 3 other pipeline files invalid/);

    const unknown = await runCli(['run', '--once', '--only', 'nope'], ws.env(url));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown pipeline: nope \(known: alpha, beta, delta, gamma, zeta\)/);
  });

  test('only invalid files: nothing runs, exit 3, no database touched', async () => {
    const res = await runCli(['run', '--once', '--only', 'gamma', 'delta'], { ...ws.env(url), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /pipeline configuration is invalid \(\d+ problems\): nothing was run/);
  });

  test('run (service) starts the valid pipelines and logs each invalid file loudly', async () => {
    await pg.query(url, "INSERT INTO public.beta (id, name) VALUES (1001, 'service')");
    const child = spawn(process.execPath, [CLI, 'run'], { env: { ...ws.env(url) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const until = Date.now() + 30_000;
      while (!/"pipeline":"beta".*"msg":"pipeline synced"/.test(stderr) && Date.now() < until) await sleep(100);
      assert.match(stderr, /"pipeline":"beta".*"msg":"pipeline synced"/, stderr.slice(-3000));
      const logs = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; file?: string });
      const errors = logs.filter((l) => l.level >= 50);
      assert.ok(
        errors.some((l) => l.file === schemaFile && l.msg.startsWith(`${schemaFile}:4:3 source.cursr:`)),
        stderr.slice(0, 3000),
      );
      assert.ok(errors.some((l) => /3 pipeline files invalid, not running: .*gamma\.yml/.test(l.msg) && /picked up without a restart/.test(l.msg)));
      const scheduled = logs.filter((l) => l.msg === 'scheduled');
      assert.equal(scheduled.length, 2, 'alpha and beta are scheduled, the invalid files are not');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr.slice(-2000));
    assert.equal(await count('beta'), 201);
  });

  test('once the bad files are moved away, verify says the valid tables are equal', async () => {
    for (const f of [syntaxFile, schemaFile, clashFile]) renameSync(f, join(ws.dir, `${f.split('/').pop()}.off`));
    await assertVerified(ws, url, ['alpha', 'beta']);
  });
});
