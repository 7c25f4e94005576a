/**
 * `pgduck validate --connect` and `pgduck plan --connect` through the real CLI against a real
 * embedded Postgres and real DuckDB files. validate: every live problem is caught, named (pipeline
 * and column), explained with its fix, and the exit code is 1; fixing it (often by running the
 * printed SQL) makes validate pass. plan: row estimates, the real column mapping, and SQL that runs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { createWorkspace, ROOT, runCli, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;
const role = `pgduck_plain_${process.pid}`;
const rolePassword = 'Pl41n-s3cret-pw';

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('live_checks');
  // The demo schema: every shipped pipeline must pass the live checks against it.
  await applyInitScripts(url, { seedAccounts: 3 });
  await pg.query(
    url,
    `CREATE TABLE no_key (id int, updated_at timestamptz NOT NULL DEFAULT now(), v text);
     CREATE INDEX ON no_key (updated_at, id);
     CREATE TABLE no_index (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(), v text);
     CREATE TABLE "Odd Name; drop" ("Id" int PRIMARY KEY, "Updated At" timestamptz NOT NULL);
     CREATE TABLE nullable_key (id int, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE UNIQUE INDEX ON nullable_key (id);
     CREATE INDEX ON nullable_key (updated_at, id);
     CREATE TABLE tenant_rows (tenant int, id int, updated_at timestamptz NOT NULL, PRIMARY KEY (tenant, id));
     CREATE INDEX ON tenant_rows (updated_at, tenant, id);
     CREATE TABLE text_cursor (id int PRIMARY KEY, updated_at text NOT NULL);
     CREATE TABLE null_cursor (id int PRIMARY KEY, updated_at timestamptz);
     CREATE INDEX ON null_cursor (updated_at, id);
     INSERT INTO null_cursor VALUES (1, now()), (2, NULL);
     CREATE TABLE maybe_null_cursor (id int PRIMARY KEY, updated_at timestamptz);
     CREATE INDEX ON maybe_null_cursor (updated_at, id);
     INSERT INTO maybe_null_cursor VALUES (1, now());
     CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}';
     GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role};`,
  );
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  if (pg) {
    await pg.query(url, `DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await pg.stop();
  }
});

/** A directory holding exactly these pipeline files. */
function pipelines(dir: string, files: Record<string, string>): string {
  const path = join(ws.dir, dir);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  for (const [name, yaml] of Object.entries(files)) writeFileSync(join(path, `${name}.yml`), yaml);
  return path;
}

const pipeline = (table: string, key = 'id', extra = '') =>
  `source:\n  table: ${table}\n  primary_key: ${key}\n${extra}target:\n  table: t_${table.replace(/\W/g, '_')}\n`;

function env(databaseUrl: string | null = url, duckdbPath = ws.duckdbPath): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, DUCKDB_PATH: duckdbPath, PGDUCK_LOG_FORMAT: 'json' };
  for (const k of ['DATABASE_URL', 'POSTGRES_HOST', 'POSTGRES_PORT', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB']) delete e[k];
  if (databaseUrl) e.DATABASE_URL = databaseUrl;
  return e;
}

const validate = (dir: string, e = env(), ...flags: string[]) => runCli(['validate', '--connect', ...flags, dir], e);

/** The indented lines under a finding: its fix. */
function fixAfter(stdout: string, pattern: RegExp): string {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => pattern.test(l));
  assert.ok(at >= 0, `no line matches ${pattern}:\n${stdout}`);
  const fix: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('    ')) break;
    fix.push(line.slice(4));
  }
  return fix.join('\n');
}

describe('validate --connect', () => {
  test('every shipped pipeline passes the live checks against the demo schema', async () => {
    const r = await runCli(['validate', '--connect', join(ROOT, 'pipelines')], env());
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /✓ 4 pipelines valid\n/);
    assert.match(r.stdout, /✓ live checks passed for 4 pipelines against Postgres postgres:\/\/.*:\*\*\*\*@/);
    assert.equal(r.code, 0, r.stdout);
  });

  test('a missing table: named, with a did-you-mean, exit 1', async () => {
    const dir = pipelines('missing', { orders: pipeline('public.acounts') });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      /orders\.yml:2:10 source\.table: orders: table "public"\."acounts" does not exist, or role "postgres" cannot see it; did you mean "public"\."accounts"\?/,
    );
    assert.match(r.stdout, /live checks failed for 1 pipeline .*: 1 error\n$/);
  });

  test('a key that is not unique: the fix declares it, and then validate passes', async () => {
    const dir = pipelines('no-key', { no_key: pipeline('public.no_key') });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /no_key\.yml:3:16 source\.primary_key: no_key: primary-key column "id" is nullable/);
    assert.match(r.stdout, /no_key\.yml:3:16 source\.primary_key: no_key: \("id"\) is not known to be unique/);
    const fix = fixAfter(r.stdout, /is not known to be unique/);
    assert.equal(fix, 'ALTER TABLE "public"."no_key" ADD PRIMARY KEY ("id");');
    await pg.query(url, fix);
    const again = await validate(dir);
    assert.equal(again.code, 0, again.stdout);
  });

  test('a key that is a subset of the real primary key: told which key to configure', async () => {
    const dir = pipelines('tenant', { tenant_rows: pipeline('public.tenant_rows', 'id', '  cursor: updated_at\n') });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      /tenant_rows: \("id"\) is not known to be unique: .*the table's primary key is \("tenant", "id"\): set source\.primary_key to \[tenant, id\]/,
    );
    writeFileSync(join(dir, 'tenant_rows.yml'), pipeline('public.tenant_rows', '[tenant, id]'));
    const fixed = await validate(dir);
    assert.equal(fixed.code, 0, fixed.stdout);
  });

  test('a nullable key column with a unique index: named, with the ALTER to run', async () => {
    const dir = pipelines('nullable-key', { nullable_key: pipeline('public.nullable_key') });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /nullable_key: primary-key column "id" is nullable/);
    assert.doesNotMatch(r.stdout, /not known to be unique/, 'the unique index makes it unique');
    const fix = fixAfter(r.stdout, /primary-key column "id" is nullable/);
    assert.equal(fix, 'ALTER TABLE "public"."nullable_key" ALTER COLUMN "id" SET NOT NULL;');
    await pg.query(url, fix);
    assert.equal((await validate(dir)).code, 0);
  });

  test('no (cursor, key) index: the exact CREATE INDEX is printed; running it makes validate pass', async () => {
    const dir = pipelines('no-index', {
      no_index: pipeline('public.no_index', 'id', '  cursor: updated_at\n'),
      odd: `source:\n  table: 'public."Odd Name; drop"'\n  primary_key: Id\n  cursor: Updated At\ntarget:\n  table: odd\n`,
    });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /no_index\.yml:4:11 source\.cursor: no_index: no index on \("updated_at", "id"\)/);
    assert.match(r.stdout, /odd\.yml:4:11 source\.cursor: odd: no index on \("Updated At", "Id"\)/);
    const fixes = [fixAfter(r.stdout, /no_index: no index/), fixAfter(r.stdout, /odd: no index/)];
    assert.deepEqual(fixes, [
      'CREATE INDEX CONCURRENTLY "no_index_updated_at_id_idx" ON "public"."no_index" ("updated_at", "id");',
      'CREATE INDEX CONCURRENTLY "Odd Name; drop_Updated At_Id_idx" ON "public"."Odd Name; drop" ("Updated At", "Id");',
    ]);
    for (const fix of fixes) await pg.query(url, fix);
    const again = await validate(dir);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /✓ live checks passed for 2 pipelines/);
  });

  test('a small analyzed table without the (cursor, key) index: a warning, and validate passes', async () => {
    await pg.query(
      url,
      `CREATE TABLE small_noidx (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO small_noidx (id) SELECT generate_series(1, 500);
       ANALYZE small_noidx;`,
    );
    const r = await validate(pipelines('small-noidx', { small_noidx: pipeline('public.small_noidx') }));
    assert.equal(r.code, 0, r.stdout);
    assert.match(
      r.stdout,
      /small_noidx: no index on \("updated_at", "id"\): every batch scans and sorts "public"\."small_noidx", cheap at its ~500 rows \(under 100,000, so a warning\)/,
    );
  });

  test('which indexes serve ORDER BY (cursor, key): direction, partial, longer, invalid', async () => {
    await pg.query(
      url,
      `CREATE TABLE idx_desc (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v int);
       CREATE INDEX ON idx_desc (updated_at DESC NULLS FIRST, id DESC NULLS FIRST);
       CREATE TABLE idx_longer (id int PRIMARY KEY, updated_at timestamptz NOT NULL, v int);
       CREATE INDEX ON idx_longer (updated_at, id, v) INCLUDE (v);
       CREATE TABLE idx_mixed (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
       CREATE INDEX ON idx_mixed (updated_at DESC, id);
       CREATE TABLE idx_partial (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
       CREATE INDEX ON idx_partial (updated_at, id) WHERE id > 0;
       CREATE TABLE idx_hash (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
       CREATE INDEX ON idx_hash USING hash (updated_at);
       CREATE TABLE idx_invalid (id int NOT NULL, updated_at timestamptz NOT NULL);
       INSERT INTO idx_invalid VALUES (1, '2024-01-01'), (1, '2024-01-01');`,
    );
    // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind: here, a unique index over duplicates.
    await assert.rejects(pg.query(url, 'CREATE UNIQUE INDEX CONCURRENTLY idx_invalid_cursor ON idx_invalid (updated_at, id)'));
    const names = ['idx_desc', 'idx_longer', 'idx_mixed', 'idx_partial', 'idx_hash', 'idx_invalid'];
    const dir = pipelines('index-kinds', Object.fromEntries(names.map((n) => [n, pipeline(`public.${n}`)])));
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    const failing = [...r.stdout.matchAll(/^\S+ source\.cursor: (\w+): no index on/gm)].map((m) => m[1]);
    assert.deepEqual(failing, ['idx_hash', 'idx_mixed', 'idx_partial']);
    assert.match(
      r.stdout,
      /idx_invalid: index "idx_invalid_cursor" on \("updated_at", "id"\) is invalid .*; rebuild it:\n {4}REINDEX INDEX CONCURRENTLY "public"\."idx_invalid_cursor";/,
    );
  });

  test('a cursor of the wrong type, a missing cursor and a missing tombstone: each named', async () => {
    const dir = pipelines('cursor', {
      text_cursor: pipeline('public.text_cursor'),
      no_cursor: pipeline('public.no_index', 'id', '  cursor: updated\n  soft_delete: removed_at\n'),
    });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /no_cursor\.yml:4:11 source\.cursor: no_cursor: "public"\."no_index" has no cursor column "updated"; did you mean "updated_at"\?/);
    assert.match(
      r.stdout,
      /no_cursor\.yml:5:16 source\.soft_delete: no_cursor: "public"\."no_index" has no tombstone column "removed_at" \(it has: id, updated_at, v\)/,
    );
    assert.match(
      r.stdout,
      /text_cursor\.yml:1:1 source\.cursor: text_cursor: cursor column "updated_at" is text: a cursor must be a timestamp .* or an integer/,
    );
    assert.doesNotMatch(r.stdout, /text_cursor: no index/, 'no index advice for a cursor that cannot work');
  });

  test('NULL cursor values: what happens to them is said; with null_cursor: fail, NULLs present are an error', async () => {
    // include (the default): NULL-cursor rows are read by key on every run; both are warnings.
    const dir = pipelines('null-cursor', { null_cursor: pipeline('public.null_cursor'), maybe: pipeline('public.maybe_null_cursor') });
    const r = await validate(dir);
    assert.equal(r.code, 0, r.stdout);
    assert.match(
      r.stdout,
      /null_cursor: cursor column "updated_at" is nullable \(some rows hold NULL\): rows whose cursor is NULL are read by primary key on every run/,
    );
    assert.equal(
      fixAfter(r.stdout, /null_cursor: cursor column/),
      'UPDATE "public"."null_cursor" SET "updated_at" = now() WHERE "updated_at" IS NULL;\nALTER TABLE "public"."null_cursor" ALTER COLUMN "updated_at" SET NOT NULL;',
    );
    assert.match(r.stdout, /maybe\.yml:1:1 source\.cursor: warning: maybe: cursor column "updated_at" is nullable \(no row is NULL today\)/);
    assert.match(r.stdout, /✓ live checks passed for 2 pipelines .*\(2 warnings\)/);

    const failing = await validate(
      pipelines('null-cursor-fail', {
        null_cursor: pipeline('public.null_cursor', 'id', '  null_cursor: fail\n'),
        maybe: pipeline('public.maybe_null_cursor', 'id', '  null_cursor: fail\n'),
      }),
    );
    assert.equal(failing.code, 1, failing.stdout);
    assert.match(failing.stdout, /null_cursor: cursor column "updated_at" is NULL in some rows and source\.null_cursor is fail: a run stops when it finds one/);
    assert.match(failing.stdout, /maybe: cursor column "updated_at" is nullable \(no row is NULL today\): a row whose cursor is NULL stops the pipeline/);
    assert.match(failing.stdout, /: 1 error, 1 warning\n$/);
  });

  test('a column whose type cannot be synced is refused, named', async () => {
    // pg_stats has anyarray columns: a pseudo-type no user table can have, and no DuckDB type can hold.
    const dir = pipelines('refused', {
      stats: `source:\n  table: pg_catalog.pg_stats\n  primary_key: [schemaname, tablename, attname, inherited]\n  cursor: null_frac\ntarget:\n  table: stats\n`,
    });
    const r = await validate(dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      /stats\.yml:2:10 source\.table: stats: column "most_common_vals" \(anyarray\) cannot be synced: pseudo-type anyarray cannot be stored/,
    );
    assert.match(r.stdout, /stats: cursor column "null_frac" is real: a cursor must be/);
    assert.match(r.stdout, /warning: stats: "pg_catalog"\."pg_stats" is a view: Postgres cannot say whether/);
  });

  test('a role that cannot see other sessions: GRANT pg_read_all_stats is printed; after it, validate passes', async () => {
    const roleUrl = new URL(url);
    roleUrl.username = role;
    roleUrl.password = rolePassword;
    const dir = pipelines('role', { accounts: pipeline('public.accounts') });
    const r = await validate(dir, env(roleUrl.toString()));
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      new RegExp(`accounts\\.yml:1:1: accounts: role "${role}" on postgres://${role}:\\*\\*\\*\\*@.* cannot see other sessions in pg_stat_activity`),
    );
    const fix = fixAfter(r.stdout, /cannot see other sessions/);
    assert.equal(fix, `GRANT pg_read_all_stats TO "${role}";`);
    assert.ok(!r.stdout.includes(rolePassword) && !r.stderr.includes(rolePassword), 'the password is never printed');
    await pg.query(url, fix);
    const again = await validate(dir, env(roleUrl.toString()));
    assert.equal(again.code, 0, again.stdout);
  });

  test('a table the role may not read: the GRANT SELECT is printed', async () => {
    await pg.query(url, `CREATE TABLE secret_rows (id int PRIMARY KEY, updated_at timestamptz NOT NULL); CREATE INDEX ON secret_rows (updated_at, id);`);
    const roleUrl = new URL(url);
    roleUrl.username = role;
    roleUrl.password = rolePassword;
    const r = await validate(pipelines('privilege', { secret_rows: pipeline('public.secret_rows') }), env(roleUrl.toString()));
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      new RegExp(`secret_rows: role "${role}" may not read "public"\\."secret_rows"; grant it:\\n    GRANT SELECT ON "public"\\."secret_rows" TO "${role}";`),
    );
  });

  test('a DuckDB file locked by another process fails; released, it passes', async () => {
    const dir = pipelines('locked', { accounts: pipeline('public.accounts') });
    const lake = join(ws.dir, 'locked', 'lake.duckdb');
    const holder = await holdDuckDbFile(lake);
    try {
      const r = await validate(dir, env(url, lake));
      assert.equal(r.code, 1, r.stdout);
      assert.match(
        r.stdout,
        new RegExp(`accounts\\.yml:1:1: accounts: DuckDB file ${escapeRegExp(lake)} is locked by another process \\(node, PID ${holder.pid}\\)`),
      );
    } finally {
      await release(holder);
    }
    const again = await validate(dir, env(url, lake));
    assert.equal(again.code, 0, again.stdout);
  });

  test('a wrong password: a clear message, the URL redacted, the password never printed (text or JSON)', async () => {
    const wrong = new URL(url);
    wrong.password = 'Wr0ng-Passw0rd-xyz';
    const dir = pipelines('wrong-password', { accounts: pipeline('public.accounts') });
    for (const flags of [[], ['--json']]) {
      const r = await validate(dir, env(wrong.toString()), ...flags);
      assert.equal(r.code, 1, r.stdout);
      const all = r.stdout + r.stderr;
      assert.ok(!all.includes('Wr0ng-Passw0rd-xyz'), `password printed:\n${all}`);
      assert.match(
        all,
        /cannot connect to Postgres at postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/live_checks\w*: password authentication failed for user \\?"postgres\\?"; the password was refused/,
      );
    }
  });

  test('an unreachable server: a clear message, exit 1', async () => {
    const port = await freePort();
    const r = await validate(pipelines('unreachable', { accounts: pipeline('public.accounts') }), env(`postgres://app:Secr3t-here@127.0.0.1:${port}/app`));
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stdout,
      new RegExp(`cannot connect to Postgres at postgres://app:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}/app: connect ECONNREFUSED .*nothing is listening there`),
    );
    assert.ok(!r.stdout.includes('Secr3t-here'));
  });

  test('--json: the findings as records naming pipeline, column and fix', async () => {
    const dir = pipelines('json', { no_index: pipeline('public.no_index'), accounts: pipeline('public.accounts') });
    await pg.query(url, 'DROP INDEX IF EXISTS no_index_updated_at_id_idx');
    const r = await validate(dir, env(), '--json');
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout);
    assert.equal(report.valid, false);
    assert.deepEqual(report.problems, []);
    assert.equal(report.live.ok, false);
    assert.equal(report.live.errors, 1);
    assert.deepEqual(report.live.findings, [
      {
        check: 'index',
        severity: 'error',
        pipelines: ['no_index'],
        file: join(dir, 'no_index.yml'),
        line: 1,
        col: 1,
        path: 'source.cursor',
        column: 'updated_at',
        message:
          'no index on ("updated_at", "id"): every batch would scan and sort the whole of "public"."no_index" (its size is unknown: never analyzed); create it:',
        fix: 'CREATE INDEX CONCURRENTLY "no_index_updated_at_id_idx" ON "public"."no_index" ("updated_at", "id");',
      },
    ]);
  });

  test('an invalid configuration exits 2 and skips the live checks; so does a missing DATABASE_URL', async () => {
    const broken = pipelines('broken', { accounts: `source:\n  table: public.accounts\n  primary_key: id\ntarget:\n  table: accounts\nbatch_size: lots\n` });
    const r = await validate(broken, env('postgres://nobody:x@127.0.0.1:1/none'));
    assert.equal(r.code, 3);
    assert.match(r.stdout, /batch_size: must be a whole number/);
    assert.match(r.stdout, /live checks skipped: fix the configuration first\n$/);
    assert.doesNotMatch(r.stdout, /cannot connect/, 'no connection was attempted');

    const noUrl = await validate(pipelines('no-url', { accounts: pipeline('public.accounts') }), env(null));
    assert.equal(noUrl.code, 3);
    assert.match(noUrl.stdout, /live checks skipped: no database configured for accounts; set DATABASE_URL/);
  });

  test('without --connect, validate never connects', async () => {
    const r = await runCli(['validate', pipelines('offline', { accounts: pipeline('public.nope') })], env('postgres://nobody:x@127.0.0.1:1/none'));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, '✓ 1 pipeline valid\n');
  });
});

describe('plan --connect', () => {
  const planEnv = (dir: string, databaseUrl = url) => ({ ...env(databaseUrl), PIPELINES_DIR: dir });

  test('row estimate, the real column mapping, and extract SQL that runs as printed', async () => {
    await pg.query(url, 'ANALYZE public.accounts');
    const dir = pipelines('plan', { accounts: pipeline('public.accounts', 'id', '  soft_delete: deleted_at\n') });
    const r = await runCli(['plan', 'accounts', '--connect', '--json'], planEnv(dir));
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.equal(plan.columns, 'known');
    assert.equal(plan.live.error, null);
    assert.equal(plan.live.kind, 'table');
    assert.equal(plan.live.rowEstimate, 3);
    assert.match(plan.live.connection, /^postgres:\/\/postgres:\*\*\*\*@/);
    const byName = Object.fromEntries(plan.live.columns.map((c: { name: string }) => [c.name, c]));
    assert.deepEqual(Object.keys(byName).slice(0, 3), ['id', 'external_id', 'name']);
    assert.deepEqual(byName.id, { name: 'id', postgres: 'bigint', duckdb: 'BIGINT', transport: 'int64', note: null, refused: null });
    assert.equal(byName.credit_balance.duckdb, 'DECIMAL(12,2)');
    assert.equal(byName.tags.duckdb, 'VARCHAR[]');
    assert.equal(byName.updated_at.duckdb, 'TIMESTAMPTZ');
    assert.match(byName.updated_at.note, /µs exact/);

    const extract = plan.steps[0].sql;
    assert.doesNotMatch(extract['next batches'], /<every column>|<type of/);
    const rows = await pg.query(url, extract['next batches'], ['-infinity', '0', 'infinity']);
    const count = await pg.query(url, 'SELECT count(*)::int AS n FROM public.accounts');
    assert.equal(rows.rowCount, count.rows[0].n, 'the printed SQL reads every row after the start position');
    assert.deepEqual(Object.keys(rows.rows[0]).slice(0, 3), ['id', 'external_id', 'name']);
    const first = await pg.query(url, extract['first batch'], ['infinity']);
    assert.equal(first.rowCount, count.rows[0].n);
    assert.match(plan.steps[2].sql['first run'], /"credit_balance" DECIMAL\(12,2\),\n/);

    const text = await runCli(['plan', 'accounts', '--connect'], planEnv(dir));
    assert.equal(text.code, 0);
    assert.match(text.stdout, /live {7}postgres:\/\/postgres:\*\*\*\*@.*: table, ~3 rows \(estimate\)/);
    assert.match(text.stdout, /\n {4}credit_balance +numeric\(12,2\) +→ DECIMAL\(12,2\) +exact/);
  });

  test('a refused column is shown as refused and the plan exits 1; a failed connection too, redacted', async () => {
    const dir = pipelines('plan-refused', {
      stats: `source:\n  table: pg_catalog.pg_stats\n  primary_key: [schemaname, tablename, attname, inherited]\n  cursor: null_frac\ntarget:\n  table: stats\n`,
    });
    const r = await runCli(['plan', '--connect'], planEnv(dir));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✗ cannot sync column most_common_vals \(anyarray\): pseudo-type anyarray cannot be stored/);
    assert.match(r.stdout, /\n {4}most_common_vals +anyarray +→ REFUSED +refused: pseudo-type anyarray cannot be stored/);

    const wrong = new URL(url);
    wrong.password = 'N0t-the-passw0rd';
    const failed = await runCli(['plan', '--connect', '--json'], planEnv(dir, wrong.toString()));
    assert.equal(failed.code, 1);
    assert.ok(!failed.stdout.includes('N0t-the-passw0rd') && !failed.stderr.includes('N0t-the-passw0rd'));
    assert.match(JSON.parse(failed.stdout)[0].live.error, /password authentication failed/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A child process that opens the DuckDB file (through pgduck's own src/duckdb) and keeps it open until killed. */
async function holdDuckDbFile(path: string): Promise<ChildProcess> {
  mkdirSync(join(path, '..'), { recursive: true });
  const lake = new URL('dist/duckdb/lake.js', `file://${ROOT}`).href;
  const child = spawn(
    process.execPath,
    // Lake (ATTACH), as the runner holds it: a lock taken by withDuckDbFile was seen to vanish now and then (DuckDB 1.5.6).
    [
      '--input-type=module',
      '-e',
      `import { Lake } from ${JSON.stringify(lake)};\nawait new Lake().withSession(process.argv[1], async () => { console.log('ready'); await new Promise(() => setInterval(() => {}, 1000)); });`,
      path,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return child;
}

async function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
