/**
 * Guards kept from a review (passing), of the WAL-position check (SOURCE_REWOUND): an idle primary, pg_switch_wal and
 * CHECKPOINT between runs, two pipelines on one cluster taking turns: never a false alarm.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { runOnce, settle } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('idle runs, pg_switch_wal, two pipelines on one cluster: no SOURCE_REWOUND', async () => {
  const url = await pgs.createDatabase('wal_probe');
  const other = await pgs.createDatabase('wal_probe_other');
  const ws = createWorkspace();
  try {
    for (const u of [url, other])
      await pgs.query(
        u,
        `CREATE TABLE t (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO t SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 10) g;`,
      );
    ws.writePipeline('p1', 'source:\n  table: public.t\n  primary_key: id\ntarget:\n  table: t1\nbatch_size: 4\n');
    ws.writePipeline('p2', 'source:\n  table: public.t\n  primary_key: id\ntarget:\n  table: t2\nbatch_size: 4\n');
    for (let i = 0; i < 4; i++) {
      await runOnce(ws, url, ['--only', 'p1']);
      await runOnce(ws, url, ['--only', 'p2']);
      await runOnce(ws, url); // idle
      const sw = await pgs.query(url, i % 2 === 0 ? 'SELECT pg_switch_wal()' : 'CHECKPOINT');
      assert.ok(sw);
      await pgs.query(url, `INSERT INTO t (id) VALUES (${100 + i})`);
      await settle();
    }
    await runOnce(ws, url);
  } finally {
    ws.cleanup();
  }
});
