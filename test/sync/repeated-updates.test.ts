/**
 * Rows updated again and again — between runs, during a run (while its batches are being read), and
 * in the order that makes a row's cursor go backwards — end as their latest version in DuckDB; an
 * older Parquet batch replayed from parquet/ never overwrites a newer row; re-applying is idempotent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, type Workspace } from '../support/workspace.js';
import { assertVerified, runOnce, TestClients } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { connectPostgres } from '../../src/postgres/connect.js';
import { introspectTable } from '../../src/postgres/introspect-table.js';
import { mapColumns } from '../../src/stages/extract.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { applyParquet } from '../../src/stages/upsert.js';
import { describeHistoryFiles } from '../../src/replay/read-history.js';
import { listHistory } from '../../src/parquet/history-files.js';
import { fileTransport } from '../../src/parquet/history-metadata.js';
import { mappingForFile } from '../../src/schema/typed-parquet.js';

describe('repeated updates', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;
  const clients = new TestClients();
  const connect = () => clients.connect(url);
  /** id → version in DuckDB. */
  const duckVersions = () =>
    withDuckDbFile(ws.duckdbPath, async (s) => new Map((await s.all('SELECT id, version FROM hot')).map((r) => [Number(r.id), Number(r.version)])), {
      readOnly: true,
    });
  const pgVersions = async () => new Map((await server.query(url, 'SELECT id, version FROM hot')).rows.map((r) => [Number(r.id), Number(r.version)]));

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('updates');
    await server.query(
      url,
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
       CREATE TABLE hot (id int PRIMARY KEY, version int NOT NULL DEFAULT 0, note text, updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
       CREATE INDEX ON hot (updated_at, id);
       CREATE TRIGGER hot_touch BEFORE UPDATE ON hot FOR EACH ROW EXECUTE FUNCTION touch();
       INSERT INTO hot (id, note) SELECT g, 'v0' FROM generate_series(1, 2000) AS g;`,
    );
    ws = createWorkspace();
    ws.writePipeline('hot', 'source:\n  table: public.hot\n  primary_key: id\n  soft_delete: deleted_at\ntarget:\n  table: hot\nbatch_size: 50\n');
  });
  after(async () => {
    await clients.endAll();
    ws?.cleanup();
    await server?.stop();
  });

  test('updated during the batches of a run and between runs: the target ends with the latest version', async () => {
    const writer = await connect();
    const run = spawn(process.execPath, [CLI, 'run', '--once'], { env: ws.env(url), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => run.on('close', resolve));
    let running = true;
    void exited.then(() => (running = false));
    let updates = 0;
    // Hammer a hot set of rows (some soft-deleted and revived) while the run reads its 40 batches.
    while (running) {
      const id = 1 + Math.floor(Math.random() * 200) * 10;
      await writer.query(
        `UPDATE hot SET version = version + 1, note = 'v' || (version + 1), deleted_at = CASE WHEN random() < 0.2 THEN now() END WHERE id IN ($1, $2)`,
        [id, 2001 - id],
      );
      updates++;
    }
    assert.equal(await exited, 0, stderr);
    assert.ok(updates > 10, `only ${updates} updates happened during the run`);

    for (let round = 0; round < 3; round++) {
      await writer.query(`UPDATE hot SET version = version + 1, note = 'between' WHERE id % 7 = $1`, [round]);
      await runOnce(ws, url);
    }
    assert.deepEqual(await duckVersions(), await pgVersions());
    await assertVerified(ws, url, ['hot']);
  });

  test('a row whose cursor goes backwards (an older transaction commits the newer version) still arrives', async () => {
    const older = await connect();
    await older.query('BEGIN'); // READ COMMITTED, as almost every application runs
    const t0 = (await older.query('SELECT now()::text AS t')).rows[0].t as string;
    await new Promise((r) => setTimeout(r, 20));
    await server.query(url, `UPDATE hot SET version = version + 1, note = 'W' WHERE id = 7`); // W commits first, updated_at = t1 > t0
    await runOnce(ws, url); // loads W's version (above the horizon: not checkpointed)
    assert.equal((await duckVersions()).get(7), (await pgVersions()).get(7));
    await older.query(`UPDATE hot SET version = version + 1, note = 'T' WHERE id = 7`); // waits for nothing: W is done
    await older.query('COMMIT');
    const row = (await server.query(url, `SELECT note, updated_at::text AS c FROM hot WHERE id = 7`)).rows[0];
    assert.deepEqual(row, { note: 'T', c: t0 }, 'the newest version carries the older cursor');

    await runOnce(ws, url);
    const note = await withDuckDbFile(ws.duckdbPath, (s) => s.all('SELECT note FROM hot WHERE id = 7'), { readOnly: true });
    assert.deepEqual(note, [{ note: 'T' }], 'the newer version replaced the one with the higher cursor');
    await assertVerified(ws, url, ['hot']);
  });

  test('an older Parquet batch replayed from parquet/ does not overwrite newer rows; replaying the newest is idempotent', async () => {
    const files = readdirSync(join(ws.parquetDir, 'hot'))
      .filter((f) => f.endsWith('.parquet'))
      .sort();
    const oldest = join(ws.parquetDir, 'hot', files[0]);
    const newest = join(ws.parquetDir, 'hot', files[files.length - 1]);
    const before = await duckVersions();
    // The first batch holds the bootstrap versions of rows 1…50, several of which have been updated since.
    const stale = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT id, version FROM read_parquet('${oldest}')`), { readOnly: true });
    const overtaken = stale.filter((r) => Number(r.version) < (before.get(Number(r.id)) ?? -1));
    assert.ok(overtaken.length >= 5, `the old file must hold rows updated since (${overtaken.length})`);

    const { specs } = loadPipelines([ws.pipelinesDir]);
    const spec = specs[0];
    const client = await connectPostgres(url);
    const columns = mapColumns(spec, (await introspectTable(client, 'public', 'hot'))!);
    await client.end();
    await withDuckDbFile(ws.duckdbPath, async (s) => {
      // Each file read as replay reads it: a typed file's columns as they are (its metadata says which).
      const described = await describeHistoryFiles(s, listHistory(ws.parquetDir, 'hot').files);
      const read = (path: string) => columns.map((c) => mappingForFile(c, fileTransport(described.find((d) => d.path === path)!.meta!)));
      await applyParquet(s, { schema: 'main', table: 'hot' }, oldest, read(oldest), ['id'], 'updated_at', 'monotonic');
      await applyParquet(s, { schema: 'main', table: 'hot' }, newest, read(newest), ['id'], 'updated_at', 'monotonic');
      await applyParquet(s, { schema: 'main', table: 'hot' }, newest, read(newest), ['id'], 'updated_at', 'monotonic');
    });
    assert.deepEqual(await duckVersions(), before);
    await assertVerified(ws, url, ['hot']);
  });
});
