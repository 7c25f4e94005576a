/**
 * `pgduck run` as a service: each pipeline on its own cron schedule (seconds field), the DuckDB file
 * free to open between cycles, a clean stop on SIGTERM.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CLI, createWorkspace, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('service');
  await applyInitScripts(url, { seedAccounts: 50 });
  ws = createWorkspace();
  for (const [name, schedule] of [
    ['accounts', '* * * * * *'],
    ['invoices', '*/2 * * * * *'],
  ]) {
    ws.writePipeline(
      name,
      `source:\n  table: public.${name}\n  primary_key: id\n  soft_delete: deleted_at\ntarget:\n  table: ${name}\nschedule: "${schedule}"\nhorizon:\n  margin_ms: 0\n`,
    );
  }
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

/** Reads the DuckDB file between the runner's cycles (it is locked only while a pipeline runs). */
async function readWhenFree<T>(fn: Parameters<typeof withDuckDbFile<T>>[1]): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await withDuckDbFile(ws.duckdbPath, fn, { readOnly: true });
    } catch (err) {
      if (i > 200) throw err;
      await sleep(50);
    }
  }
}

/** Polls `check` until true; on a timeout the failure carries `detail()` (the service's log). */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, detail?: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}${detail ? `\n${detail()}` : ''}`);
}

test('run syncs on each schedule, picks up later changes, and stops cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [CLI, 'run'], { env: ws.env(url), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const count = (table: string) => readWhenFree(async (s) => Number((await s.all(`SELECT count(*)::INT AS n FROM ${table}`))[0].n));
    await waitFor('the first cycle', async () => (await count('accounts')) === 50 && (await count('invoices')) === 150);

    await pg.query(url, "UPDATE public.accounts SET name = 'renamed by the test' WHERE id = 7");
    await pg.query(
      url,
      "INSERT INTO public.invoices (account_id, number, status, currency, subtotal, tax, total, issued_on, due_on) VALUES (7, 'INV-SERVICE', 'open', 'EUR', 1, 0, 1, current_date, current_date)",
    );
    await waitFor('the update on a later cycle', async () =>
      readWhenFree(async (s) => (await s.all('SELECT name FROM accounts WHERE id = 7'))[0].name === 'renamed by the test'),
    );
    await waitFor('the insert on a later cycle', async () => (await count('invoices')) === 151);

    const scheduled = stderr.split('\n').filter((l) => l.includes('"msg":"scheduled"'));
    assert.equal(scheduled.length, 2, 'one schedule per pipeline');
    assert.ok(/"schedule":"\*\/2 \* \* \* \* \*"/.test(scheduled.join('\n')), 'each pipeline keeps its own cron');
  } finally {
    // Awaited even when the test failed: the next test's service must not meet this one still stopping.
    child.kill('SIGTERM');
    await exited;
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
});

test('SIGTERM while runs wait in the pool (more pipelines than --concurrency) still exits cleanly', async () => {
  const child = spawn(process.execPath, [CLI, '--concurrency', '1', 'run'], { env: ws.env(url), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // Both pipelines fire at start: one runs, the other waits its turn. Stop right then.
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.split('"msg":"scheduled"').length - 1 === 2) resolve();
    });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, `stop hung or failed: ${stderr.slice(-2000)}`);
});

test('a pipeline file dropped into pipelines/ while run is up is scheduled and synced without a restart; a removed one stops', async () => {
  // The poll is an hour away: the file watcher alone (300 ms debounce) must see both changes.
  const child = spawn(process.execPath, [CLI, 'run'], { env: { ...ws.env(url), PGDUCK_RELOAD_SECONDS: '3600' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const logged = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  // Rows the service says it synced into the new pipeline's table. Waiting on its log, not on reading
  // the DuckDB file: three pipelines on 1-second schedules keep the file locked most of the time on a
  // loaded machine (a reader polling it timed out once). The data is checked after the service stops.
  const appliedTo = (p: string) =>
    logged()
      .filter((l) => l.msg === 'pipeline synced' && l.pipeline === p)
      .reduce((sum, l) => sum + Number(l.rows), 0);
  try {
    // Written once the watcher is up (its INFO line): the change must reach it as an event.
    await waitFor(
      'the running service',
      async () => stderr.includes('for pipeline files'),
      30_000,
      () => stderr.slice(-4000),
    );
    ws.writePipeline('subscriptions', 'source:\n  table: public.subscriptions\n  primary_key: id\ntarget:\n  table: subscriptions\nschedule: "* * * * * *"\n');
    await waitFor(
      'the new pipeline to sync',
      async () => appliedTo('subscriptions') >= 100,
      30_000,
      () => stderr.slice(-4000),
    );
    assert.match(stderr, /"added":\["subscriptions"\].*"trigger":"file change".*pipelines reloaded/);
    rmSync(`${ws.pipelinesDir}/subscriptions.yml`);
    await waitFor('the removal', async () => /"removed":\["subscriptions"\].*"trigger":"file change"/.test(stderr));
  } finally {
    // Awaited even when the test failed: the next test's service must not meet this one still
    // stopping, nor its pipeline file.
    child.kill('SIGTERM');
    await exited;
    rmSync(`${ws.pipelinesDir}/subscriptions.yml`, { force: true });
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
  const synced = await withDuckDbFile(ws.duckdbPath, async (s) => (await s.all('SELECT id::VARCHAR AS id FROM subscriptions')).map((r) => String(r.id)), {
    readOnly: true,
  });
  const source = (await pg.query(url, 'SELECT id::text AS id FROM public.subscriptions')).rows.map((r) => String(r.id));
  assert.equal(source.length, 100);
  assert.deepEqual(synced.sort(), source.sort(), 'the new pipeline synced every row of its table');
});

test('an edited _defaults.yml reschedules the pipelines it changes; a broken one stops them until fixed, reported once', async () => {
  const { writeFileSync } = await import('node:fs');
  const defaults = `${ws.pipelinesDir}/_defaults.yml`;
  const child = spawn(process.execPath, [CLI, 'run'], { env: { ...ws.env(url), PGDUCK_RELOAD_SECONDS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const logged = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  try {
    await waitFor(
      'the running service',
      async () => logged().filter((l) => l.msg === 'scheduled').length === 2,
      30_000,
      () => stderr.slice(-4000),
    );
    writeFileSync(defaults, 'timezone: Europe/Berlin\n');
    await waitFor('both pipelines rescheduled in the shared time zone', async () =>
      ['accounts', 'invoices'].every((p) => logged().some((l) => l.msg === 'scheduled' && l.pipeline === p && l.timezone === 'Europe/Berlin')),
    );
    writeFileSync(defaults, 'timezone: Europe/Berlni\n');
    await waitFor('both pipelines unscheduled', async () =>
      logged().some((l) => /pipelines reloaded/.test(String(l.msg)) && JSON.stringify(l.removed) === '["accounts","invoices"]'),
    );
    const reported = () => logged().filter((l) => String(l.msg).includes('_defaults.yml:1:11 timezone: unknown time zone'));
    assert.equal(reported().length, 1, 'the broken defaults file is reported once');
    await sleep(2500); // two more polls: still reported once
    assert.equal(reported().length, 1);
    rmSync(defaults);
    await waitFor('both pipelines back, in UTC', async () =>
      logged().some((l) => /pipelines reloaded/.test(String(l.msg)) && JSON.stringify(l.added) === '["accounts","invoices"]'),
    );
    const last = (p: string) =>
      logged()
        .filter((l) => l.msg === 'scheduled' && l.pipeline === p)
        .at(-1);
    assert.equal(last('accounts')?.timezone, 'UTC');
  } finally {
    rmSync(defaults, { force: true });
    child.kill('SIGTERM');
    await exited;
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
});
