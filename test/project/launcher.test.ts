/**
 * The `pgduck` executable as installers start it: bin/pgduck.cjs, a plain node script
 * (`#!/usr/bin/env node`). On Linux, for a command that moves data, it sets glibc's arena limit by
 * replacing its process with a node that has it (process.execve, Node 22.15+: the same pid); then
 * process-tuning.cjs sets DuckDB's allocator options. What the process ends up with is read from
 * inside it, by a module preloaded through NODE_OPTIONS that prints its environment and pid when it
 * exits. And the launchers npm and pnpm write from the executable's first line (cmd-shim, the code
 * they use; pnpm writes them on every system): they must start node, not a shell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT } from '../support/workspace.js';

const dir = mkdtempSync(join(tmpdir(), 'pgduck-launcher-'));
const probe = join(dir, 'probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => {
    // Loading pg here, after the executable's own setup: did it load Node's fetch (undici)?
    require(${JSON.stringify(join(ROOT, 'node_modules', 'pg'))});
    const undici = process.moduleLoadList.some((m) => m.includes('undici'));
    const seen = { pid: process.pid, arena: process.env.MALLOC_ARENA_MAX ?? null, je: process.env.DUCKDB_JE_MALLOC_CONF ?? null, undici };
    process.stderr.write('PROBE ' + JSON.stringify(seen) + '\\n');
  });\n`,
);
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Launched {
  code: number | null;
  spawnedPid: number;
  stdout: string;
  stderr: string;
  seen: { pid: number; arena: string | null; je: string | null; undici: boolean };
}

/** Runs `file args` as an executable (no `node` in front), the probe preloaded. */
function launch(file: string, args: string[], env: Record<string, string> = {}): Promise<Launched> {
  const base = { ...process.env };
  delete base.MALLOC_ARENA_MAX;
  delete base.DUCKDB_JE_MALLOC_CONF;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...base, ...env, NODE_OPTIONS: `--require ${probe}` }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stderr.split('\n').find((l) => l.startsWith('PROBE '));
      if (!line) return reject(new Error(`no probe line; stderr: ${stderr}`));
      resolve({ code, spawnedPid: child.pid as number, stdout, stderr, seen: JSON.parse(line.slice(6)) });
    });
  });
}

// process.execve (Node 22.15+, 23.11+): where node has none, the arena limit comes from the environment only.
const execve = typeof (process as { execve?: unknown }).execve === 'function' && process.platform === 'linux';
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('run as an executable, a command that moves data gets 2 glibc arenas (where node can exec) and DuckDB allocator options, in one process', async () => {
  const r = await launch(CLI, ['run', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: pgduck run \[options\]/);
  assert.equal(r.seen.arena, execve ? '2' : null);
  assert.equal(r.seen.je, 'narenas:1,dirty_decay_ms:300,muzzy_decay_ms:0');
  // execve: the same process, no second one behind it.
  assert.equal(r.seen.pid, r.spawnedPid);
  // A command that moves no data starts as it is: no second node start.
  const plain = await launch(CLI, ['--version']);
  assert.equal(plain.code, 0);
  assert.equal(plain.stdout.trim(), version);
  assert.equal(plain.seen.arena, null);
  assert.equal(plain.seen.pid, plain.spawnedPid);
});

test('the executable asks node to exec itself with MALLOC_ARENA_MAX=2 for a command that moves data, unless the environment sets it', async () => {
  // process.execve stood in for by a preloaded module that records its call and ends the process, so
  // the decision is tested on every Node (the exec itself is Node's, from 22.15).
  const recorder = join(dir, 'execve-recorder.cjs');
  const out = join(dir, 'execve.json');
  writeFileSync(
    recorder,
    `process.execve = (file, args, env) => {
      require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ file, args, arena: env.MALLOC_ARENA_MAX, kept: env.PGDUCK_KEPT }));
      process.exit(0);
    };\n`,
  );
  const calls = (args: string[], env: Record<string, string> = {}) => {
    rmSync(out, { force: true });
    const base = { ...process.env };
    delete base.MALLOC_ARENA_MAX;
    const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...base, ...env, NODE_OPTIONS: `--require ${recorder}` }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    try {
      return JSON.parse(readFileSync(out, 'utf8')) as { file: string; args: string[]; arena: string; kept: string };
    } catch {
      return null;
    }
  };
  for (const command of ['run', 'replay', 'reconcile', 'verify', 'demo']) {
    const call = calls(['--log-level', 'warn', command, '--help'], { PGDUCK_KEPT: 'yes' });
    assert.deepEqual(call, {
      file: process.execPath,
      args: [process.execPath, CLI, '--log-level', 'warn', command, '--help'],
      arena: '2',
      kept: 'yes',
    });
  }
  assert.equal(calls(['validate', '--help']), null, 'no second start for a command that moves no data');
  assert.equal(calls(['--version']), null);
  assert.equal(calls(['run', '--help'], { MALLOC_ARENA_MAX: '8' }), null, 'a value in the environment is kept');
  // An exec that fails (a sandbox forbidding it) leaves the command to run as it is.
  const refusing = join(dir, 'execve-refusing.cjs');
  writeFileSync(refusing, `process.execve = () => { throw new Error('EPERM'); };\n`);
  const base = { ...process.env };
  delete base.MALLOC_ARENA_MAX;
  const r = spawnSync(process.execPath, [CLI, 'run', '--help'], { env: { ...base, NODE_OPTIONS: `--require ${refusing}` }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: pgduck run \[options\]/);
});

test("pg loads without Node's fetch implementation (~30 ms of CPU per process on Node 20)", async () => {
  const r = await launch(CLI, ['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.seen.undici, false, 'pg built a fetch Response to look for Cloudflare Workers');
  if (Number(process.versions.node.split('.')[0]) < 21) {
    // The control: where node has no navigator of its own, pg alone does load undici.
    const plain = spawnSync(process.execPath, ['-e', `require('pg'); console.log(process.moduleLoadList.some((m) => m.includes('undici')))`], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(plain.stdout.trim(), 'true');
  }
});

test('settings given in the environment win over the launcher and process-tuning defaults', async () => {
  const r = await launch(CLI, ['run', '--help'], { MALLOC_ARENA_MAX: '8', DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:500' });
  assert.equal(r.code, 0);
  assert.equal(r.seen.arena, '8');
  assert.equal(r.seen.je, 'dirty_decay_ms:500');
  assert.equal(r.seen.pid, r.spawnedPid);
});

/** The shims an installer writes for the executable, into `into` (cmd-shim's interface: `cmdShim(from, to)`). */
async function writeShims(lib: 'cmd-shim' | '@zkochan/cmd-shim', into: string): Promise<string> {
  const mod = (await import(lib)) as { default: (from: string, to: string, opts?: object) => Promise<void> };
  mkdirSync(into);
  // pnpm's asks for the Windows launchers (it writes them on Windows); npm's writes all three anyway.
  await mod.default(CLI, join(into, 'pgduck'), { createCmdFile: true, createPwshFile: true });
  return join(into, 'pgduck');
}

for (const [lib, who] of [
  ['cmd-shim', 'npm (on Windows)'],
  ['@zkochan/cmd-shim', 'pnpm (on every system)'],
] as const) {
  test(`the launchers ${who} writes from the executable's first line start node, and the sh one runs it here`, async () => {
    const shim = await writeShims(lib, join(dir, lib.replace(/[@/]/g, '_')));
    const cmd = readFileSync(`${shim}.cmd`, 'utf8');
    assert.match(cmd, /SET "_prog=node"|^ *node +"%~dp0\\/m, 'the .cmd launcher starts node on the file');
    assert.doesNotMatch(cmd, /\/bin\/sh|\benv\b/, 'nor a shell, nor env');
    assert.match(readFileSync(`${shim}.ps1`, 'utf8'), /& "node\$exe"/);
    // The sh launcher (Git Bash and Cygwin on Windows; pnpm's node_modules/.bin everywhere): arguments and exit codes pass through.
    chmodSync(shim, 0o755);
    const r = await launch(shim, ['plan', '--pipelines', join(dir, 'none'), 'a "b" c']);
    assert.equal(r.code, 2);
    assert.match(r.stdout + r.stderr, /unknown pipeline: a "b" c \(known: none\)/);
    const data = await launch(shim, ['replay', '--help']);
    assert.equal(data.code, 0);
    assert.equal(data.seen.arena, execve ? '2' : null);
  });
}

test('through a symlink (how npm links node_modules/.bin/pgduck), arguments and exit codes pass through', async () => {
  const link = join(dir, 'pgduck');
  symlinkSync(CLI, link);
  const help = await launch(link, ['verify', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: pgduck verify \[options\]/);
  assert.equal(help.seen.arena, execve ? '2' : null);
  const bad = await launch(link, ['no-such-command']);
  assert.equal(bad.code, 2, 'a usage error keeps its exit code');
  // An argument with spaces and quotes arrives as one argument, unchanged.
  const pipelines = join(dir, 'pipelines');
  mkdirSync(pipelines);
  const odd = await launch(link, ['plan', '--pipelines', pipelines, 'a "b" c']);
  assert.equal(odd.code, 2);
  assert.match(odd.stdout + odd.stderr, /unknown pipeline: a "b" c \(known: none\)/);
});

test("DuckDB's allocator (linked into libduckdb on Linux) reads DUCKDB_JE_MALLOC_CONF", { skip: process.platform !== 'linux' }, () => {
  // If a DuckDB upgrade renamed its jemalloc build, process-tuning's setting would silently do nothing.
  const script = `const { DuckDBInstance } = require('@duckdb/node-api');
    (async () => { const i = await DuckDBInstance.create(':memory:'); const c = await i.connect();
      await c.run('CREATE TABLE t AS SELECT range AS a FROM range(100000)'); c.closeSync(); i.closeSync(); })();`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    env: { ...process.env, DUCKDB_JE_MALLOC_CONF: 'narenas:1,dirty_decay_ms:300,muzzy_decay_ms:0,stats_print:true' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /opt\.narenas: 1\b/, 'jemalloc statistics printed with the options applied');
  assert.match(r.stderr, /opt\.dirty_decay_ms: 300\b/);
  assert.match(r.stderr, /opt\.muzzy_decay_ms: 0\b/);
});
