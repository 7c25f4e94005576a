/**
 * `pgduck init` through the real CLI against a real embedded Postgres: the demo schema plus one
 * table for every reason init skips one (no key, no cursor candidate, an unmappable type, a view, a
 * partition, a missing (cursor, key) index). What it writes passes `validate --connect` and
 * `run --once` syncs it into a real DuckDB file; it never overwrites without --force; the SQL it
 * prints for a skipped table, once run, lets the next init write that table's file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { createWorkspace, ROOT, runCli, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('init_cmd');
  await applyInitScripts(url, { seedAccounts: 3 });
  await pg.query(
    url,
    `CREATE TABLE no_key (id int, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE TABLE no_cursor (id int PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), updated_at text);
     CREATE TABLE needs_index (id int PRIMARY KEY, last_update timestamptz NOT NULL DEFAULT now(), note text);
     INSERT INTO needs_index (id, note) VALUES (1, 'one'), (2, 'two');
     CREATE VIEW live_accounts AS SELECT * FROM accounts WHERE deleted_at IS NULL;
     CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
     CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
     CREATE INDEX ON events (updated_at, id, at);
     INSERT INTO events (id, at) VALUES (1, '2026-03-01'), (2, '2026-04-01');
     CREATE TABLE by_unique (code text NOT NULL, region text NOT NULL, modified_at timestamptz NOT NULL DEFAULT now(), deleted_on date, UNIQUE (code, region));
     CREATE INDEX ON by_unique (modified_at, code, region);
     INSERT INTO by_unique (code, region, deleted_on) VALUES ('a', 'eu', NULL), ('a', 'us', '2026-01-02');
     CREATE TABLE "Odd Name; drop" ("Id" int PRIMARY KEY, "updated_at" timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON "Odd Name; drop" (updated_at, "Id");
     INSERT INTO "Odd Name; drop" ("Id") VALUES (7);
     CREATE SCHEMA sales;
     CREATE TABLE sales.accounts (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON sales.accounts (updated_at, id);
     INSERT INTO sales.accounts (id) VALUES (1), (2), (3), (4);`,
  );
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

const files = () => (existsSync(ws.pipelinesDir) ? readdirSync(ws.pipelinesDir).sort() : []);

describe('pgduck init', () => {
  let first: Awaited<ReturnType<typeof runCli>>;

  test('writes one file per table that can be synced, and lists every other table with the reason', async () => {
    first = await runCli(['init'], ws.env(url));
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(files(), ['Odd_Name_drop.yml', 'accounts.yml', 'by_unique.yml', 'events.yml', 'invoice_lines.yml', 'invoices.yml', 'subscriptions.yml']);
    const out = first.stdout;
    assert.match(out, /skipped "public"\."no_key" \(no key\): no primary key, and no unique index over NOT NULL columns/);
    assert.match(out, /skipped "public"\."no_cursor" \(no cursor candidate\): no cursor column: .*\("updated_at" is text\)/);
    assert.match(out, /skipped "public"\."live_accounts" \(not a table\): a view: /);
    assert.match(out, /skipped "public"\."events_2026" \(a partition\): a partition of public\.events/);
    assert.match(out, /skipped "public"\."needs_index" \(needs an index\): no index on \("last_update", "id"\)/);
    assert.match(out, /\n {4}CREATE INDEX CONCURRENTLY "needs_index_last_update_id_idx" ON "public"\."needs_index" \("last_update", "id"\);\n/);
    assert.match(out, /7 files written, 0 kept, 5 tables skipped\n/);
    assert.doesNotMatch(out + first.stderr, /pgduck-\d+-\d+/, 'the password is never printed');
  });

  test('the files spell out keys, cursor and tombstone, and their $schema line resolves to the shipped schema', () => {
    const read = (name: string) => readFileSync(join(ws.pipelinesDir, name), 'utf8');
    const lines = parse(read('invoice_lines.yml'));
    assert.deepEqual(lines.source, { table: 'public.invoice_lines', primary_key: ['invoice_id', 'line_no'], cursor: 'updated_at', soft_delete: 'deleted_at' });
    assert.deepEqual(parse(read('by_unique.yml')).source, {
      table: 'public.by_unique',
      primary_key: ['code', 'region'],
      cursor: 'modified_at',
      soft_delete: 'deleted_on',
    });
    assert.deepEqual(parse(read('Odd_Name_drop.yml')).source, { table: 'public.Odd Name; drop', primary_key: 'Id', cursor: 'updated_at' });
    assert.equal(parse(read('Odd_Name_drop.yml')).target.table, 'Odd_Name_drop');
    for (const name of files()) {
      const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(read(name));
      assert.ok(m, name);
      const schema = join(ws.pipelinesDir, m[1]);
      assert.equal(readFileSync(schema, 'utf8'), readFileSync(join(ROOT, 'schema', 'pipeline.schema.json'), 'utf8'), `${name}: ${m[1]}`);
    }
  });

  test('what it wrote passes validate --connect, and run --once syncs it into DuckDB', async () => {
    const validate = await runCli(['validate', '--connect'], ws.env(url));
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /✓ 7 pipelines valid/);
    const run = await runCli(['run', '--once'], ws.env(url));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const counts = await withDuckDbFile(ws.duckdbPath, (s) =>
      s.all(`SELECT (SELECT count(*) FROM accounts)::INT AS accounts, (SELECT count(*) FROM invoice_lines)::INT AS lines,
                    (SELECT count(*) FROM events)::INT AS events, (SELECT count(*) FROM by_unique_current)::INT AS live_codes,
                    (SELECT max("Id") FROM "Odd_Name_drop")::INT AS odd`),
    );
    const source = await pg.query(url, 'SELECT (SELECT count(*) FROM accounts)::int AS accounts, (SELECT count(*) FROM invoice_lines)::int AS lines');
    assert.deepEqual(counts, [{ accounts: source.rows[0].accounts, lines: source.rows[0].lines, events: 2, live_codes: 1, odd: 7 }]);
  });

  test('never overwrites without --force; with it, rewrites', async () => {
    const file = join(ws.pipelinesDir, 'accounts.yml');
    const edited = readFileSync(file, 'utf8').replace('batch_size: 10000', 'batch_size: 500');
    writeFileSync(file, edited);
    const again = await runCli(['init'], ws.env(url));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /kept .*accounts\.yml: it exists \(--force overwrites it\)/);
    assert.match(again.stdout, /0 files written, 7 kept, 5 tables skipped/);
    assert.equal(readFileSync(file, 'utf8'), edited);
    const forced = await runCli(['init', '--force', '--tables', 'accounts'], ws.env(url));
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /1 file written, 0 kept, 0 tables skipped/);
    assert.match(readFileSync(file, 'utf8'), /batch_size: 10000/);
  });

  test('the printed CREATE INDEX, once run, lets the next init write that table', async () => {
    const fix = /^ {4}(CREATE INDEX CONCURRENTLY "needs_index.*;)$/m.exec(first.stdout)?.[1];
    assert.ok(fix);
    await pg.query(url, fix);
    const res = await runCli(['init', '--tables', 'needs_*'], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /wrote .*needs_index\.yml: "public"\."needs_index", key id \(primary key\), cursor last_update\n/);
    const validate = await runCli(['validate', '--connect', join(ws.pipelinesDir, 'needs_index.yml')], ws.env(url));
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  });

  test('--schema reads several schemas: a name two schemas share gets the schema prefix', async () => {
    const out = join(ws.dir, 'two-schemas');
    const res = await runCli(['init', '--schema', 'public', 'sales', '--tables', 'accounts', '--out', out], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['public_accounts.yml', 'sales_accounts.yml']);
    assert.equal(parse(readFileSync(join(out, 'sales_accounts.yml'), 'utf8')).source.table, 'sales.accounts');
    const validate = await runCli(['validate', '--connect', out], ws.env(url));
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  });

  test('an unmappable column type is a skip reason (pg_statistic holds anyarray columns)', async () => {
    const out = join(ws.dir, 'catalog');
    const res = await runCli(['init', '--schema', 'pg_catalog', '--tables', 'pg_statistic', '--out', out], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /skipped "pg_catalog"\."pg_statistic" \(unmappable type\): .*"stavalues1" \(anyarray\): pseudo-type anyarray cannot be stored/);
    assert.ok(!existsSync(out), 'nothing written, not even the directory');
  });

  test('--json: written, kept and skipped tables with reasons and fixes, as one document', async () => {
    const out = join(ws.dir, 'as-json');
    const res = await runCli(['init', '--json', '--tables', 'invoice*', 'no_key', '--out', out], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    const doc = JSON.parse(res.stdout);
    assert.deepEqual(
      doc.written.map((w: { file: string; primaryKey: string[]; softDelete: string | null }) => [w.file, w.primaryKey, w.softDelete]),
      [
        [join(out, 'invoice_lines.yml'), ['invoice_id', 'line_no'], 'deleted_at'],
        [join(out, 'invoices.yml'), ['id'], 'deleted_at'],
      ],
    );
    assert.deepEqual(doc.kept, []);
    assert.deepEqual(doc.skipped, [
      {
        schema: 'public',
        table: 'no_key',
        reason: 'no-key',
        message:
          'no primary key, and no unique index over NOT NULL columns (each in its own collation): rows could not be told apart in DuckDB; declare the key, e.g.',
        fix: 'ALTER TABLE "public"."no_key" ADD PRIMARY KEY (…);',
      },
    ]);
  });

  test('--cursor picks the column; nothing matching and no database are said as such', async () => {
    const out = join(ws.dir, 'by-cursor');
    const res = await runCli(['init', '--tables', 'no_cursor', '--cursor', 'created_at', '--out', out], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /skipped "public"\."no_cursor" \(needs an index\): no index on \("created_at", "id"\)/);
    const none = await runCli(['init', '--tables', 'nothing_like_this', '--out', out], ws.env(url));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no table in schema public matches --tables nothing_like_this of postgres:\/\/postgres:\*\*\*\*@/);
    const { DATABASE_URL: _unused, ...env } = ws.env(url);
    const noDb = await runCli(['init', '--out', out], env);
    assert.equal(noDb.code, 3);
    assert.match(noDb.stderr, /no database configured/);
  });

  test('into a directory with shared defaults: leaves batch_size, schedule and timezone to them, says so, and what it wrote validates merged', async () => {
    const out = join(ws.dir, 'with-defaults');
    const before = await runCli(['init', '--tables', 'accounts', '--out', out], ws.env(url));
    assert.equal(before.code, 0, before.stderr);
    assert.doesNotMatch(before.stdout, /shared defaults/, 'no defaults file, no note');
    writeFileSync(join(out, '_defaults.yml'), 'batch_size: 123\nschedule: "0 0 * * * *"\n');
    const res = await runCli(['init', '--tables', 'subscriptions', '--out', out], ws.env(url));
    assert.equal(res.code, 0, res.stderr);
    assert.ok(
      res.stdout.includes(`note: the files written inherit the shared defaults in ${join(out, '_defaults.yml')} (pgduck plan shows the merged result)\n`),
      res.stdout,
    );
    assert.deepEqual(readdirSync(out).sort(), ['_defaults.yml', 'accounts.yml', 'subscriptions.yml'], 'init writes no _defaults.yml of its own');
    const plan = await runCli(['plan', '--json', '--pipelines', out], ws.env(url));
    assert.equal(plan.code, 0, plan.stderr);
    assert.deepEqual(
      JSON.parse(plan.stdout).map((p: { pipeline: string; batchSize: number; schedule: { cron: string } }) => [p.pipeline, p.batchSize, p.schedule.cron]),
      [
        ['accounts', 10_000, '*/30 * * * * *'],
        ['subscriptions', 123, '0 0 * * * *'],
      ],
      'a file written before the defaults spells out the built-in ones; one written after leaves them to the defaults',
    );
    const validate = await runCli(['validate', '--connect', out], ws.env(url));
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
  });
});
