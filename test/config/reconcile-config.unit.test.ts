/**
 * The `reconcile:` block of a pipeline file: its schedule (cron, checked like the sync schedule, with
 * the problem's position), its time zone (the pipeline's unless it says otherwise), and the plan
 * showing it with its next fire times.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { compile } from '../../src/runner/compile.js';
import { formatPlan } from '../../src/commands/plan.js';

const tmp = mkdtempSync(join(tmpdir(), 'pgduck-reconcile-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\ntimezone: Europe/Berlin\n';

function load(name: string, text: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(tmp, `${name}.yml`);
  writeFileSync(file, text);
  return loadPipelines([file], env);
}

test('a valid reconcile block: its schedule, the pipeline time zone inherited, or its own', () => {
  const inherited = load('orders', `${BASE}reconcile:\n  schedule: "0 */10 * * * *"\n`);
  assert.deepEqual(inherited.problems, []);
  assert.deepEqual(inherited.specs[0].reconcile, { schedule: '0 */10 * * * *', timezone: 'Europe/Berlin' });

  const own = load('own', `${BASE}reconcile:\n  schedule: "0 30 3 * * *"\n  timezone: America/New_York\n`);
  assert.deepEqual(own.problems, []);
  assert.deepEqual(own.specs[0].reconcile, { schedule: '0 30 3 * * *', timezone: 'America/New_York' });

  const none = load('none', BASE);
  assert.deepEqual(none.problems, []);
  assert.equal(none.specs[0].reconcile, undefined, 'no block: only `pgduck reconcile` on demand');
});

test('a bad reconcile cron is a problem at its position, worded as the sync schedule is', () => {
  const { specs, problems } = load('badcron', `${BASE}reconcile:\n  schedule: "0 */10 * * *  * *"\n`);
  assert.deepEqual(specs, []);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  const [p] = problems;
  assert.equal(p.path, 'reconcile.schedule');
  assert.deepEqual([p.line, p.col], [8, 13], 'the value of reconcile.schedule: line 8, column 13');
  assert.match(p.message, /is not a valid cron expression: it has 7 fields/);

  const never = load('never', `${BASE}reconcile:\n  schedule: "0 0 0 30 2 *"\n`).problems;
  assert.equal(never[0]?.path, 'reconcile.schedule');
  assert.match(never[0].message, /never fires/);

  const syntax = load('syntax', `${BASE}reconcile:\n  schedule: "0 */99x * * * *"\n`).problems;
  assert.equal(syntax[0]?.path, 'reconcile.schedule');
  assert.match(syntax[0].message, /is not a valid cron expression/);
});

test('the reconcile block is checked like the rest: unknown zone, unknown key, missing schedule', () => {
  const zone = load('zone', `${BASE}reconcile:\n  schedule: "0 * * * * *"\n  timezone: Europe/Berln\n`).problems;
  assert.equal(zone[0]?.path, 'reconcile.timezone');
  assert.deepEqual([zone[0].line, zone[0].col], [9, 13]);
  assert.match(zone[0].message, /unknown time zone `Europe\/Berln`; did you mean `Europe\/Berlin`\?/);

  const typo = load('typo', `${BASE}reconcile:\n  schedule: "0 * * * * *"\n  mode: remove\n`).problems;
  assert.equal(typo.length, 1, JSON.stringify(typo));
  assert.match(typo[0].path, /^reconcile/);

  const empty = load('empty', `${BASE}reconcile: {}\n`).problems;
  assert.equal(empty.length, 1, JSON.stringify(empty));
  assert.equal(empty[0].path, 'reconcile.schedule');
  assert.match(empty[0].message, /required field is missing/);
});

test('a cron from the environment is not echoed back', () => {
  const { problems } = load('fromenv', `${BASE}reconcile:\n  schedule: \${RECONCILE_CRON}\n`, { RECONCILE_CRON: 'secret-ish */x' });
  assert.equal(problems[0]?.path, 'reconcile.schedule');
  assert.doesNotMatch(problems[0].message, /secret-ish/);
});

test('the plan shows the reconcile schedule and its next fire times, as data', () => {
  const [spec] = load('planned', `${BASE}reconcile:\n  schedule: "0 */10 * * * *"\n`).specs;
  const plan = compile(spec, { duckdbPath: 'lake/warehouse.duckdb', now: new Date('2026-03-29T00:52:00Z') });
  assert.deepEqual(plan.reconcile, {
    cron: '0 */10 * * * *',
    timezone: 'Europe/Berlin',
    next: ['2026-03-29T01:00:00.000Z', '2026-03-29T01:10:00.000Z', '2026-03-29T01:20:00.000Z'],
  });
  assert.deepEqual(JSON.parse(JSON.stringify(plan.reconcile)), plan.reconcile);
  assert.match(
    formatPlan(plan),
    /\n {2}reconcile {2}0 \*\/10 \* \* \* \* \(Europe\/Berlin\); next: 2026-03-29T01:00:00\.000Z, 2026-03-29T01:10:00\.000Z, 2026-03-29T01:20:00\.000Z\n/,
    'plan prints it under the schedule',
  );
  const [plain] = load('plain', BASE).specs;
  const plainPlan = compile(plain, { duckdbPath: 'lake/warehouse.duckdb' });
  assert.equal(plainPlan.reconcile, null);
  assert.doesNotMatch(formatPlan(plainPlan), /\n {2}reconcile /);
});
