/** The one-runner lock file: refused while its holder lives, taken over when provably stale (no second process needed: the environment is injected). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireRunnerLock, RunnerLockedError, staleReason, type LockEnv } from '../../src/runner/runner-lock.js';

const env = (over: Partial<LockEnv> = {}): LockEnv => ({
  pid: 100,
  host: 'box',
  alive: () => true,
  commandLine: () => 'node /usr/lib/pgduck/dist/cli.js run',
  ...over,
});

test('a second runner is refused with the holder pid and host; the first releases, then it may start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-lock-'));
  try {
    const path = join(dir, 'pgduck-run.lock');
    const first = acquireRunnerLock(path, 'state directory state', env());
    assert.equal(first.tookOverFrom, null);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, 100);
    const err = (() => {
      try {
        acquireRunnerLock(path, 'state directory state', env({ pid: 200 }));
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof RunnerLockedError);
    assert.match(err.message, /another pgduck run \(pid 100 on host box, since .+\) holds .*pgduck-run\.lock/);
    assert.equal(err.kind, 'transient');
    assert.equal(err.code, 'RUNNER_LOCKED');
    first.release();
    acquireRunnerLock(path, 'state directory state', env({ pid: 200 })).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('release removes only its own lock; then the next runner gets it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-lock-'));
  try {
    const path = join(dir, 'x.lock');
    const a = acquireRunnerLock(path, 'x', env());
    a.release();
    assert.ok(!existsSync(path));
    const b = acquireRunnerLock(path, 'x', env({ pid: 200 }));
    a.release();
    assert.ok(existsSync(path), "a runner never removes another's lock");
    b.release();
    assert.ok(!existsSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale lock (same host, dead pid) is taken over and says from whom', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-lock-'));
  try {
    const path = join(dir, 'x.lock');
    writeFileSync(path, JSON.stringify({ pid: 4242, host: 'box', startedAt: '2026-01-01T00:00:00.000Z' }));
    const lock = acquireRunnerLock(path, 'x', env({ alive: (pid) => pid !== 4242 }));
    assert.deepEqual(lock.tookOverFrom, { pid: 4242, host: 'box', startedAt: '2026-01-01T00:00:00.000Z', what: undefined });
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, 100);
    lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('staleness: another host is never stale; own pid, a dead pid, a pid reused by another program are', () => {
  const holder = { pid: 7, host: 'box', startedAt: 't' };
  assert.equal(staleReason({ ...holder, host: 'other' }, env({ alive: () => false })), null);
  assert.equal(staleReason(holder, env()), null, 'alive and a pgduck');
  assert.match(staleReason({ ...holder, pid: 100 }, env()) ?? '', /this process/);
  assert.match(staleReason(holder, env({ alive: () => false })) ?? '', /gone/);
  assert.match(staleReason(holder, env({ commandLine: () => 'postgres: writer' })) ?? '', /another program/);
  assert.equal(staleReason(holder, env({ commandLine: () => null })), null, 'cannot tell: not stale');
});

test('an unreadable lock file is refused, not guessed at', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-lock-'));
  try {
    const path = join(dir, 'x.lock');
    writeFileSync(path, 'garbage');
    assert.throws(() => acquireRunnerLock(path, 'x', env()), RunnerLockedError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
