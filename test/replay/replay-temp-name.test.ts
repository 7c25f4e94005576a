/**
 * Found by review (pipelines sharing one DuckDB file): `pgduck replay a --drop-target` builds a's table
 * beside the old one as `<table>__pgduck_replay`, first dropping any table of that name. A second
 * pipeline whose target table had that name (validate accepted it) lost its table to another
 * pipeline's replay, which reported success. Now such a target name is refused by every command that
 * reads the pipeline files (src/config/check-pipeline-set.ts), and a replay never drops a table of that
 * name that holds another source's rows (one a pgduck before this made): it refuses, nothing changed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { duckIds, runOnce } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

let pgs: TestPostgres;
let url: string;
let ws: Workspace;
before(async () => {
  pgs = await startPostgres();
  url = await pgs.createDatabase('review13_replay_tmp');
  await pgs.query(
    url,
    `CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
     CREATE INDEX ON orders (updated_at, id);
     INSERT INTO orders SELECT i, 'o' || i, clock_timestamp() - interval '1 hour' + i * interval '1 second' FROM generate_series(1, 4) AS i;
     CREATE TABLE archive (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
     CREATE INDEX ON archive (updated_at, id);
     INSERT INTO archive SELECT i, 'a' || i, clock_timestamp() - interval '1 hour' + i * interval '1 second' FROM generate_series(101, 103) AS i;`,
  );
  ws = createWorkspace();
  ws.writePipeline('orders', 'source:\n  table: public.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 3\n');
  ws.writePipeline('archive', 'source:\n  table: public.archive\n  primary_key: id\ntarget:\n  table: orders__pgduck_replay\nbatch_size: 3\n');
});
after(async () => {
  ws?.cleanup();
  await pgs?.stop();
});

const tables = () =>
  withDuckDbFile(
    ws.duckdbPath,
    async (s) => (await s.all(`SELECT table_name AS t FROM duckdb_tables() WHERE table_name <> '_pgduck_progress' ORDER BY 1`)).map((r) => String(r.t)),
    {
      readOnly: true,
    },
  );

test('a target named as another pipeline’s replay table is refused; a replay never drops such a table holding another source’s rows', async () => {
  const v = await runCli(['validate'], ws.env(url));
  assert.equal(v.code, 3, `validate refuses the archive file: ${v.stdout}${v.stderr}`);
  assert.match(v.stdout + v.stderr, /archive\.yml.*names ending in `__pgduck_replay` are pgduck's own/);

  // The archive table as a pgduck before this check made it: synced under another name, then renamed by hand.
  ws.writePipeline('archive', 'source:\n  table: public.archive\n  primary_key: id\ntarget:\n  table: archive\nbatch_size: 3\n');
  await runOnce(ws, url);
  await withDuckDbFile(ws.duckdbPath, (s) => s.run('ALTER TABLE archive RENAME TO orders__pgduck_replay'));
  rmSync(join(ws.pipelinesDir, 'archive.yml'));
  assert.deepEqual(await tables(), ['orders', 'orders__pgduck_replay']);

  const res = await runCli(['replay', 'orders', '--drop-target'], ws.env(url));
  assert.equal(res.code, 4, res.stdout + res.stderr);
  assert.match(
    res.stdout + res.stderr,
    /orders__pgduck_replay, where the rebuild is made, exists and holds rows synced from source public\.archive|holds rows synced from public\.archive/,
  );
  assert.deepEqual(await tables(), ['orders', 'orders__pgduck_replay'], 'the archive table is still there');
  assert.deepEqual(await duckIds(ws, 'orders__pgduck_replay'), [101, 102, 103], 'and holds its rows');
  assert.deepEqual(await duckIds(ws, 'orders'), [1, 2, 3, 4], 'orders unchanged');

  // Renamed out of the way, the replay rebuilds orders.
  await withDuckDbFile(ws.duckdbPath, (s) => s.run('ALTER TABLE orders__pgduck_replay RENAME TO archive_kept'));
  const again = await runCli(['replay', 'orders', '--drop-target'], ws.env(url));
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.deepEqual(await duckIds(ws, 'orders'), [1, 2, 3, 4]);
  assert.deepEqual(await duckIds(ws, 'archive_kept'), [101, 102, 103]);
});
