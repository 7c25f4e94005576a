/**
 * Many pipelines sharing one DuckDB file through the runner's pool: sessions end and begin while the
 * previous ATTACH of the file is still being DETACHed. Every session must get the file (found when
 * eight pipelines on one file with concurrency 4 failed with "Unique file handle conflict").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';

test('sessions that start while the file is being detached still attach it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-lake-'));
  const path = join(dir, 'w.duckdb');
  const lake = new Lake();
  try {
    await lake.withSession(path, (s) => s.run(`CREATE TABLE ${s.catalog}.main.t (i INTEGER)`));
    const limit = pLimit(4);
    const results = await Promise.allSettled(
      Array.from({ length: 120 }, (_, i) =>
        limit(async () => {
          // Like a pipeline: some work before the session (connecting to Postgres), so a new session can
          // begin while the last one out is still detaching the file.
          await new Promise((r) => setTimeout(r, i % 3));
          await lake.withSession(path, async (s) => {
            await s.run(`INSERT INTO ${s.catalog}.main.t VALUES (${i})`);
            await new Promise((r) => setTimeout(r, i % 7));
          });
        }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failed.slice(0, 3), []);
  } finally {
    await lake.close();
  }
  const n = await withDuckDbFile(path, (s) => s.all('SELECT count(*)::INT AS n FROM t'), { readOnly: true });
  assert.deepEqual(n, [{ n: 120 }]);
  rmSync(dir, { recursive: true, force: true });
});

test('the last session out closes the instance; overlapping sessions share it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-lake-'));
  const path = join(dir, 'w.duckdb');
  const lake = new Lake();
  const order = async (s: { all(sql: string): Promise<Record<string, unknown>[]> }) =>
    String((await s.all("SELECT current_setting('default_order') AS o"))[0].o).toUpperCase();
  try {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let seenByFirst = '';
    const first = lake.withSession(path, async (s) => {
      await held;
      seenByFirst = await order(s);
    });
    // A global setting made in a second session while the first is open: one instance, both see it.
    await lake.withSession(path, (s) => s.run("SET GLOBAL default_order = 'DESC'"));
    release();
    await first;
    assert.match(seenByFirst, /^DESC/);
    // Both ended: the instance was closed, so the next session runs on a new one with the defaults.
    assert.match(await lake.withSession(path, order), /^ASC/);
  } finally {
    await lake.close();
  }
  rmSync(dir, { recursive: true, force: true });
});
