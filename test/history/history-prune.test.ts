/**
 * `pgduck history prune` on a history made by real runs (embedded Postgres, real DuckDB files):
 * a bootstrap in batches of 7, incremental runs, a column added with a DEFAULT (backfilled), a hard
 * delete, then `pgduck reset` and a second complete pass, and more incremental runs. With
 * `history: { keep: 1 }`:
 *  - `--dry-run` lists exactly the files before the second pass and deletes nothing;
 *  - a prune killed after its second deletion leaves a history `replay` accepts, from the same pass;
 *  - `prune` deletes exactly the listed files, and `pgduck replay` into a fresh DuckDB file (Postgres
 *    unreachable) rebuilds a table equal to the source, row for row;
 *  - `status` and `history` show the history's size; a second prune has nothing to delete.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type CliResult, type Workspace } from '../support/workspace.js';
import { readCheckpoint, resetCheckpoint, runOnce } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';
import { listHistory } from '../../src/parquet/history-files.js';

/** Prune and replay never ask Postgres: they run with this URL, where nothing listens. */
const NOWHERE = 'postgres://nobody:secret@127.0.0.1:9/nowhere';

const SETUP = `
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TABLE items (
  id         int PRIMARY KEY,
  name       text,
  qty        int,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON items (updated_at, id);
CREATE TRIGGER touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO items (id, name, qty, updated_at) SELECT g, 'item ' || g, g, now() - interval '1 hour' + g * interval '1 ms' FROM generate_series(1, 30) g;`;

interface PruneJson {
  dryRun: boolean;
  pipelines: {
    pipeline: string;
    keep: string | number;
    cut: number | null;
    delete: { file: string; seq: number; kind: string; bytes: number }[];
    deleted: number;
    bytesFreed: number;
    bytesToFree: number;
    kept: { files: number; bytes: number; firstSeq: number; lastSeq: number };
    reason: string;
    guarantee: string;
    error: unknown;
  }[];
}

describe('pgduck history prune', () => {
  let server: TestPostgres;
  let url: string;
  let ws: Workspace;
  /** Every history file before the prune, relative to parquet/items/. */
  let before0: string[] = [];
  /** Where the second pass (after the reset) began. */
  let secondPass = 0;

  const cli = (args: string[]): Promise<CliResult> => runCli(args, ws.env(NOWHERE));
  const sql = (text: string) => server.query(url, text);
  const historyFiles = () => listHistory(ws.parquetDir, 'items').files.map((f) => relative(join(ws.parquetDir, 'items'), f.path));
  const ok = (res: CliResult, what: string) => assert.equal(res.code, 0, `${what}: exit ${res.code} ${res.signal ?? ''}\n${res.stdout}\n${res.stderr}`);

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('history_prune');
    await sql(SETUP);
    ws = createWorkspace();
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\nbatch_size: 7\nhistory:\n  keep: 1\n');

    await runOnce(ws, url); // the first pass: 30 rows in batches of 7
    await sql(`UPDATE items SET qty = qty + 100 WHERE id % 4 = 0; INSERT INTO items (id, name, qty) SELECT g, 'new ' || g, g FROM generate_series(31, 35) g`);
    await runOnce(ws, url);
    // Backfilled in the first pass: every existing row gets region without its cursor moving.
    await sql(`ALTER TABLE items ADD COLUMN region text NOT NULL DEFAULT 'eu'; UPDATE items SET region = 'us', name = 'moved' WHERE id IN (2, 33)`);
    await runOnce(ws, url);
    // Invisible to a cursor: the first pass's files still hold row 5; the second pass never reads it.
    await sql(`DELETE FROM items WHERE id = 5`);

    const cp = readCheckpoint(ws, 'items');
    assert.ok(cp?.bootstrapDone);
    secondPass = cp.batchesTotal + 1;
    resetCheckpoint(ws, 'items');
    await runOnce(ws, url); // the second complete pass, from the beginning of the table
    await sql(`UPDATE items SET name = 'late', qty = -1 WHERE id IN (1, 34); INSERT INTO items (id, name, qty) VALUES (36, 'last', 36)`);
    await runOnce(ws, url);
    before0 = historyFiles();
    assert.ok(
      before0.some((f) => f.startsWith('backfill/')),
      'the first pass has backfill files',
    );
  });
  after(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  test('history (size) and status show how much history each pipeline holds', async () => {
    const bytes = before0.reduce((n, f) => n + statSync(join(ws.parquetDir, 'items', f)).size, 0);
    const size = await cli(['history', '--json']);
    ok(size, 'history --json');
    assert.deepEqual(JSON.parse(size.stdout).pipelines, [
      { pipeline: 'items', files: before0.length, deletesFiles: 0, bytes, firstSeq: 1, lastSeq: Number(before0.at(-1)!.slice(0, 10)) },
    ]);
    const text = await cli(['history']);
    ok(text, 'history');
    assert.match(text.stdout, new RegExp(`^items +${before0.length} files, `, 'm'));
    const status = await cli(['status']);
    ok(status, 'status');
    assert.match(status.stdout, new RegExp(`^  items  ${before0.length} files, .* \\(batches 1…`, 'm'));
    const statusJson = JSON.parse((await cli(['status', '--json'])).stdout);
    assert.equal(statusJson.history.items.files, before0.length);
    assert.equal(statusJson.history.items.bytes, bytes);
  });

  test('--dry-run lists exactly the files before the newest complete pass and deletes nothing', async () => {
    const expected = before0.filter((f) => Number(f.replace(/^backfill\//, '').slice(0, 10)) < secondPass);
    assert.ok(expected.length >= 8, `${expected.length} files before batch ${secondPass}`);
    const res = await cli(['history', 'prune', '--dry-run', '--json']);
    ok(res, 'prune --dry-run --json');
    const out = JSON.parse(res.stdout) as PruneJson;
    assert.equal(out.dryRun, true);
    const [p] = out.pipelines;
    assert.equal(p.cut, secondPass);
    assert.deepEqual(
      p.delete.map((d) => relative(join(ws.parquetDir, 'items'), d.file)),
      expected,
    );
    assert.equal(p.deleted, 0);
    assert.equal(p.kept.files, before0.length - expected.length);
    assert.match(p.guarantee, new RegExp(`rebuilds items as the runner built it from batch ${secondPass} `));
    assert.deepEqual(historyFiles(), before0, 'nothing deleted');

    const text = await cli(['history', 'prune', 'items', '--dry-run']);
    ok(text, 'prune --dry-run');
    assert.match(text.stdout, new RegExp(`^items \\(history.keep: 1, the newest complete pass\\): would delete ${expected.length} files, `, 'm'));
    for (const f of expected) assert.ok(text.stdout.includes(`    ${f}  `), `lists ${f}`);
    assert.match(text.stdout, /^dry run: nothing was deleted$/m);
    assert.deepEqual(historyFiles(), before0, 'nothing deleted');
  });

  test('a prune killed mid-way leaves a history replay accepts; the next prune deletes exactly the rest; replay rebuilds the source', async () => {
    const expected = before0.filter((f) => Number(f.replace(/^backfill\//, '').slice(0, 10)) < secondPass);
    const killed = await runCli(['history', 'prune'], { ...ws.env(NOWHERE), PGDUCK_FAULT: 'mid-prune:2' });
    assert.equal(killed.signal, 'SIGKILL', `${killed.stdout}\n${killed.stderr}`);
    assert.deepEqual(
      historyFiles(),
      before0.filter((f) => !expected.slice(0, 2).includes(f)),
      'the two oldest files are gone, nothing else',
    );
    const plan = await cli(['replay', 'items', '--dry-run', '--duckdb', join(ws.dir, 'plan-only.duckdb')]);
    ok(plan, 'replay --dry-run after an interrupted prune');
    assert.match(plan.stdout, new RegExp(`seq ${secondPass}…`));

    const res = await cli(['history', 'prune', '--json']);
    ok(res, 'prune');
    const [p] = (JSON.parse(res.stdout) as PruneJson).pipelines;
    assert.equal(p.deleted, expected.length - 2);
    assert.equal(p.bytesFreed, p.bytesToFree);
    assert.deepEqual(
      historyFiles(),
      before0.filter((f) => !expected.includes(f)),
      'exactly the listed files are deleted',
    );
    for (const f of expected) assert.equal(existsSync(join(ws.parquetDir, 'items', f)), false);

    const again = await cli(['history', 'prune']);
    ok(again, 'second prune');
    assert.match(again.stdout, /^items \(history.keep: 1, the newest complete pass\): nothing to delete$/m);

    // The pruned history still rebuilds the table: into a fresh file, Postgres unreachable, row for row.
    const fresh = join(ws.dir, 'rebuilt', 'fresh.duckdb');
    const replay = await cli(['replay', 'items', '--duckdb', fresh]);
    ok(replay, 'replay');
    assert.match(replay.stdout, /mode replace/);
    const diff = await compareTables(url, 'public.items', fresh, 'items', ['id']);
    assert.deepEqual(diff.mismatches, []);
    assert.equal(diff.duckRows, 35, 'row 5 (hard-deleted before the second pass) is not brought back');
    assert.equal(diff.pgRows, 35);

    // Syncing goes on as before.
    await sql(`UPDATE items SET qty = 7 WHERE id = 7`);
    await runOnce(ws, url);
  });

  test('without history.keep nothing is deleted; --keep overrides the file; a bad --keep or an unknown pipeline is a usage error', async () => {
    ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: id\ntarget:\n  table: items\nbatch_size: 7\n');
    const files = historyFiles();
    const res = await cli(['history', 'prune']);
    ok(res, 'prune without history.keep');
    assert.match(res.stdout, /^items \(history.keep: all, everything\): nothing to delete$/m);
    assert.match(res.stdout, /why: history.keep is `all` \(the default\)/);
    assert.deepEqual(historyFiles(), files);
    const override = await cli(['history', 'prune', '--keep', '1', '--dry-run']);
    ok(override, 'prune --keep 1');
    assert.match(override.stdout, /^items \(history.keep: 1, the newest complete pass\): nothing to delete$/m);
    const bad = await cli(['history', 'prune', '--keep', '3 days']);
    assert.equal(bad.code, 2, bad.stderr);
    const unknown = await cli(['history', 'prune', 'nope']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.deepEqual(historyFiles(), files);
  });
});
