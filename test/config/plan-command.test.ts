// `pgduck plan` through the real CLI, with no database anywhere: the plan is data.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createWorkspace, runCli } from '../support/workspace.js';

const ws = createWorkspace();
after(() => ws.cleanup());
ws.writePipeline(
  'orders',
  `source:\n  table: sales.orders\n  primary_key: [region, id]\n  soft_delete: deleted_at\ntarget:\n  table: orders\nbatch_size: 250\nschedule: "0 */5 * * * *"\ntimezone: Europe/Berlin\n`,
);
ws.writePipeline('archive', `source:\n  table: public.archive\n  primary_key: id\n  cursor: version\ntarget:\n  table: archive\nenabled: false\n`);
// Nothing listens here: plan must not try.
const env = { ...ws.env('postgres://nobody:secret@127.0.0.1:1/none') };

test('plan --json: every pipeline (disabled ones too), each stage with its SQL, three fire times', async () => {
  const r = await runCli(['plan', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const plans = JSON.parse(r.stdout);
  assert.deepEqual(
    plans.map((p: { pipeline: string; enabled: boolean }) => [p.pipeline, p.enabled]),
    [
      ['archive', false],
      ['orders', true],
    ],
  );
  const orders = plans[1];
  assert.deepEqual(
    orders.steps.map((s: { stage: string }) => s.stage),
    ['extract', 'parquet', 'drift-check', 'compact', 'backfill', 'upsert', 'checkpoint'],
  );
  assert.equal(orders.spec, undefined, 'the spec a plan was compiled from (with its connection string) is not printed');
  const sql = Object.fromEntries(orders.steps.map((s: { stage: string; sql?: unknown }) => [s.stage, s.sql]));
  assert.match(
    sql.extract['next batches'],
    /FROM "sales"\."orders"\nWHERE \("updated_at", "region", "id"\) > \(\$1::<type of updated_at>, \$2::<type of region>, \$3::<type of id>\)\nORDER BY "sales"\."orders"\."updated_at", "sales"\."orders"\."region", "sales"\."orders"\."id"\nLIMIT 250$/,
  );
  assert.match(sql.extract['first batch'], /"updated_at" <= \$1::timestamptz\nFROM "sales"\."orders"\nORDER BY/);
  assert.match(
    sql['drift-check']['first run'],
    /CREATE TABLE IF NOT EXISTS "warehouse"\.main\."orders" \(\n  <every column>,[\s\S]*PRIMARY KEY \("region", "id"\)\n\)/,
  );
  assert.match(
    sql.upsert.delete,
    /DELETE FROM "warehouse"\.main\."orders" AS t USING \(SELECT .*"region".*"id" FROM read_parquet\('.*\/parquet\/orders\/<batch>\.parquet'\)\) AS b\nWHERE t\."region" = b\."region" AND t\."id" = b\."id"/,
  );
  assert.match(
    sql.upsert.insert,
    /^INSERT INTO "warehouse"\.main\."orders" \(<every column>, .*\)\nSELECT <every column>, .*\nFROM read_parquet\('.*\/parquet\/orders\/<batch>\.parquet'\)$/,
  );
  assert.equal(sql.upsert.load, undefined, 'the runner upserts straight from the file');
  assert.equal(sql.parquet, undefined);
  assert.equal(orders.columns, 'assumed');
  assert.equal(orders.target.currentView, 'orders_current');

  const next = orders.schedule.next.map((t: string) => Date.parse(t));
  assert.equal(next.length, 3);
  assert.ok(next[0] > Date.now() - 1000 && next[1] - next[0] === 300_000 && next[2] - next[1] === 300_000, orders.schedule.next.join(', '));

  const archive = plans[0];
  assert.equal(archive.steps[0].horizon, 'read from pg_stat_activity before every batch');
});

test('plan <name> --json is one plan object; plan <name> prints it as text', async () => {
  const one = await runCli(['plan', 'orders', '--json'], env);
  assert.equal(one.code, 0);
  assert.equal(JSON.parse(one.stdout).pipeline, 'orders');
  const text = await runCli(['plan'], env);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^pipeline archive {2}\(.*archive\.yml\) {2}\[disabled: validated, never run\]/);
  assert.match(text.stdout, /schedule {3}0 \*\/5 \* \* \* \* \(Europe\/Berlin\); next: \S+Z, \S+Z, \S+Z\n/);
  assert.match(text.stdout, /1\. extract .*\n {7}first batch:\n {9}SELECT <every column>, /);
  assert.doesNotMatch(text.stdout + text.stderr, /secret/);
});

test('an unknown pipeline, or an invalid file, exits 2 (usage) or 3 (config) and plans nothing; a broken file blocks only itself', async () => {
  const unknown = await runCli(['plan', 'nope'], env);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(unknown.stderr, /unknown pipeline: nope \(known: archive, orders\)/);

  ws.writePipeline('broken', `source:\n  table: public.broken\n  primary_key: id\ntarget:\n  tabel: broken\n`);
  const broken = await runCli(['plan', 'broken'], env);
  assert.equal(broken.code, 3);
  assert.equal(broken.stdout, '');
  assert.match(broken.stderr, /broken\.yml:5:3 target\.tabel: unknown key `tabel`; did you mean `table`\?/);
  const all = await runCli(['plan'], env);
  assert.equal(all.code, 3, 'the plan of every file needs every file');
  const other = await runCli(['plan', 'orders'], env);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /^pipeline orders /m);
  assert.match(other.stderr, /^note: 1 other pipeline file invalid \(.*broken\.yml\): pgduck validate lists the problems$/m);
});
