/**
 * The `pgduck` executable as npm links it: bin/pgduck.cjs run by the kernel (`#!/bin/sh`), whose
 * shell line sets the glibc arena limit and `exec`s node on the same file; process-tuning.cjs then
 * sets DuckDB's allocator options. What the process ends up with is read from inside it, by a
 * module preloaded through NODE_OPTIONS that prints its environment and pid when it exits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

test('run as an executable, pgduck limits glibc to 2 arenas and sets DuckDB allocator options, in one process', async () => {
  const r = await launch(CLI, ['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  assert.equal(r.seen.arena, '2');
  assert.equal(r.seen.je, 'narenas:1,dirty_decay_ms:300,muzzy_decay_ms:0');
  // `exec`: the shell became node, no second process stays behind it.
  assert.equal(r.seen.pid, r.spawnedPid);
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
  const r = await launch(CLI, ['--version'], { MALLOC_ARENA_MAX: '8', DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:500' });
  assert.equal(r.code, 0);
  assert.equal(r.seen.arena, '8');
  assert.equal(r.seen.je, 'dirty_decay_ms:500');
});

test('through a symlink (how npm links node_modules/.bin/pgduck), arguments and exit codes pass through', async () => {
  const link = join(dir, 'pgduck');
  symlinkSync(CLI, link);
  const help = await launch(link, ['query', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: pgduck query \[options\] <sql>/);
  assert.equal(help.seen.arena, '2');
  const bad = await launch(link, ['no-such-command']);
  assert.equal(bad.code, 2, 'a usage error keeps its exit code through exec');
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
