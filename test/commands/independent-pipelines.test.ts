/**
 * A broken file in pipelines/ blocks only itself: `plan`, `verify`, `replay` and `reset` of another
 * pipeline, named, work as if it were not there (with a one-line note), while the commands that act
 * on every file (`validate`, `verify` and `plan` without names) still refuse. `validate` takes
 * pipeline names as well as paths. Real CLI, real embedded Postgres, real DuckDB file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { createWorkspace, demoPipelines, runCli, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;
const NOTE = /^note: 1 other pipeline file invalid \(.*broken\.yml\): pgduck validate lists the problems$/m;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('independent');
  await applyInitScripts(url, { seedAccounts: 3 });
  ws = createWorkspace();
  demoPipelines(ws, 1000);
  await runOnce(ws, url, ['--only', 'accounts', 'subscriptions']);
  ws.writePipeline('broken', 'source:\n  table: public.accounts\n  primary_key: id\ntarget:\n  tabel: broken\n');
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

describe('one broken pipeline file', () => {
  test('plan, verify, replay and reset of another pipeline work, noting the broken file', async () => {
    const plan = await runCli(['plan', 'accounts'], ws.env(url));
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stderr, NOTE);
    const verify = await runCli(['verify', 'accounts', 'subscriptions', '--json'], ws.env(url));
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stderr, NOTE);
    const replay = await runCli(['replay', 'subscriptions', '--dry-run'], ws.env(url));
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
    assert.match(replay.stdout, /0000000001\.parquet/);
    const reset = await runCli(['reset', 'subscriptions'], ws.env(url));
    assert.equal(reset.code, 0, reset.stdout + reset.stderr);
    const rerun = await runCli(['run', '--once', '--only', 'subscriptions'], ws.env(url));
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    const again = await runCli(['verify', 'subscriptions'], ws.env(url));
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });

  test('the broken pipeline itself, and every command acting on all files, refuse with its problem', async () => {
    const problem = /broken\.yml:5:3 target\.tabel: unknown key `tabel`; did you mean `table`\?/;
    for (const args of [['plan', 'broken'], ['verify', 'broken'], ['replay', 'broken'], ['verify', 'accounts', 'broken'], ['verify'], ['plan']]) {
      const res = await runCli(args, ws.env(url));
      assert.equal(res.code, 3, `${args.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, problem, args.join(' '));
    }
    const named = await runCli(['verify', 'accounts', 'broken'], ws.env(url));
    assert.match(named.stderr, /pipeline broken is invalid \(1 problem\): nothing was run/);
  });

  test('validate takes pipeline names as well as paths', async () => {
    const one = await runCli(['validate', 'accounts'], ws.env(url));
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.match(one.stdout, /✓ 1 pipeline valid/);
    const mixed = await runCli(['validate', 'accounts', join(ws.pipelinesDir, 'invoices.yml')], ws.env(url));
    assert.equal(mixed.code, 0, mixed.stdout + mixed.stderr);
    assert.match(mixed.stdout, /✓ 2 pipelines valid/);
    const broken = await runCli(['validate', 'broken'], ws.env(url));
    assert.equal(broken.code, 3);
    assert.match(broken.stdout, /broken\.yml:5:3 target\.tabel: unknown key `tabel`/);
    const unknown = await runCli(['validate', 'nope'], ws.env(url));
    assert.equal(unknown.code, 3);
    assert.match(unknown.stdout + unknown.stderr, /nope:1:1: does not exist/);
    const live = await runCli(['validate', '--connect', 'accounts', 'subscriptions'], ws.env(url));
    assert.equal(live.code, 0, live.stdout + live.stderr);
  });
});
