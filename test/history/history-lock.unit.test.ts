/** lockHistory without a second process (the environment is injected): refused naming the holder, a missing directory skipped, a stale lock taken over. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HISTORY_LOCK_FILE, HistoryBusyError, lockHistory } from '../../src/history/history-lock.js';
import type { LockEnv } from '../../src/state/lock-file.js';

const env = (over: Partial<LockEnv> = {}): LockEnv => ({
  pid: 100,
  host: 'box',
  alive: () => true,
  commandLine: () => 'node /usr/lib/pgduck/bin/pgduck.cjs replay orders',
  ...over,
});

test('the second taker is refused with HISTORY_BUSY naming the holder; a directory that does not exist is neither locked nor created', () => {
  const root = mkdtempSync(join(tmpdir(), 'pgduck-hlock-'));
  try {
    const dir = join(root, 'parquet');
    assert.deepEqual(lockHistory([dir], 'pgduck replay orders', env()), []);
    assert.ok(!existsSync(dir));
    mkdirSync(dir);
    const [held] = lockHistory([dir, `${dir}/`], 'pgduck replay orders', env());
    assert.equal(held.path, join(dir, HISTORY_LOCK_FILE));
    const err = (() => {
      try {
        lockHistory([dir], 'pgduck history prune', env({ pid: 200 }));
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof HistoryBusyError);
    assert.equal(err.code, 'HISTORY_BUSY');
    assert.equal(err.kind, 'transient');
    assert.match(
      err.message,
      /^the Parquet history is busy: pgduck replay orders \(pid 100 on host box, since .+\) holds .*\.pgduck-history\.lock; nothing was read or deleted/,
    );
    held.release();
    assert.ok(!existsSync(held.path));
    // Its holder gone: taken over.
    lockHistory([dir], 'pgduck replay orders', env());
    const [taken] = lockHistory([dir], 'pgduck history prune', env({ pid: 200, alive: (pid) => pid === 200 }));
    assert.equal(taken.tookOverFrom?.pid, 100);
    taken.release();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
