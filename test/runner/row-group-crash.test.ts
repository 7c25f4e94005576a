/**
 * Row-group transactions under a power cut (PGDUCK_FAULT: the process SIGKILLs itself), at the real
 * group size: 150,000 rows in batches of 10,000 make a first group of 13 batches (130,000 rows, the
 * first at or above one DuckDB row group, GROUP_ROWS) and a second of 2. After each kill the DuckDB
 * table and the checkpoint are checked against each other and the source, by row counts and sums;
 * then one clean run ends equal to the source (`pgduck verify`).
 *
 *   mid-upsert:5        inside batch 5, the group open: nothing committed, no checkpoint
 *   after-commit:1      group 1 committed, its checkpoints not written: DuckDB ahead, which rule 5 allows
 *   after-upsert:15     batch 15 applied in group 2, not committed: checkpoint and DuckDB at group 1
 *   after-checkpoint:1  group 2 committed, batch 14's checkpoint written, batch 15's not
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { GROUP_ROWS } from '../../src/runner/row-group.js';

const ROWS = 150_000;
const BATCH = 10_000;

let server: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  server = await startPostgres();
  url = await server.createDatabase('row_group_crash');
  await server.query(
    url,
    `CREATE TABLE wide (id int PRIMARY KEY, n bigint NOT NULL, note text, updated_at timestamptz NOT NULL);
     CREATE INDEX ON wide (updated_at, id);
     INSERT INTO wide SELECT g, g * 3, 'row ' || g, timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond' FROM generate_series(1, ${ROWS}) AS g;`,
  );
  ws = createWorkspace();
  ws.writePipeline(
    'wide',
    `source:\n  table: public.wide\n  primary_key: id\ntarget:\n  table: wide\nbatch_size: ${BATCH}\nhorizon:\n  margin_ms: 0\nschedule: "* * * * *"\n`,
  );
});
after(async () => {
  ws?.cleanup();
  await server?.stop();
});

/** Rows and sum(n) of the DuckDB table (0, 0 before it exists). */
async function duck(): Promise<{ rows: number; sum: number }> {
  return withDuckDbFile(
    ws.duckdbPath,
    async (s) => {
      const exists = await s.all(`SELECT count(*)::INT AS n FROM duckdb_tables() WHERE table_name = 'wide'`);
      if (Number(exists[0].n) === 0) return { rows: 0, sum: 0 };
      const r = (await s.all(`SELECT count(*)::INT AS rows, coalesce(sum(n), 0)::BIGINT AS sum FROM wide`))[0];
      return { rows: Number(r.rows), sum: Number(r.sum) };
    },
    { readOnly: true },
  );
}

/** The source's rows and sum(n) up to id `upTo` (ids are in cursor order here). */
async function source(upTo: number): Promise<{ rows: number; sum: number }> {
  const r = (await server.query(url, `SELECT count(*)::int AS rows, coalesce(sum(n), 0)::bigint AS sum FROM wide WHERE id <= ${upTo}`)).rows[0];
  return { rows: Number(r.rows), sum: Number(r.sum) };
}

async function killedAt(fault: string): Promise<void> {
  const out = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: fault }, { timeoutMs: 600_000 });
  assert.equal(out.signal, 'SIGKILL', `${fault}: the run must be killed\n${out.stdout}\n${out.stderr.slice(-2000)}`);
  assert.match(out.stderr, new RegExp(`PGDUCK_FAULT: killing at ${fault.split(':')[0]}`));
}

test('SIGKILL inside a group, between its commit and its checkpoints, in a later group and between two checkpoints of one group: DuckDB and the checkpoint stay consistent; a clean run ends equal', async () => {
  const group = Math.ceil(GROUP_ROWS / BATCH) * BATCH;
  assert.equal(group, 130_000, 'the first group is 13 batches');

  await killedAt('mid-upsert:5');
  assert.equal(readCheckpoint(ws, 'wide')?.position ?? null, null, 'no checkpoint: nothing was committed');
  assert.deepEqual(await duck(), { rows: 0, sum: 0 }, 'batches 1–4, applied in the open group, were rolled back');

  await killedAt('after-commit:1');
  assert.equal(readCheckpoint(ws, 'wide')?.position ?? null, null, 'the checkpoints wait for the commit, and the kill came first');
  assert.deepEqual(await duck(), await source(group), 'group 1 committed whole: DuckDB one group ahead of the checkpoint');

  await killedAt('after-upsert:15');
  const cp = readCheckpoint(ws, 'wide');
  assert.deepEqual([cp?.rowsTotal, cp?.batchesTotal, cp?.position?.key], [group, 13, [String(group)]], 'checkpointed up to the last committed group');
  assert.deepEqual(await duck(), await source(group), 'batches 14 and 15, applied in group 2, were rolled back');

  // This run starts at batch 14: the first checkpoint written is batch 14's, after group 2 (14, 15) commits.
  await killedAt('after-checkpoint:1');
  const cp14 = readCheckpoint(ws, 'wide');
  assert.deepEqual([cp14?.rowsTotal, cp14?.batchesTotal, cp14?.position?.key], [group + BATCH, 14, [String(group + BATCH)]]);
  assert.deepEqual(await duck(), await source(ROWS), 'group 2 committed whole: DuckDB one batch ahead of the checkpoint');

  const clean = await runCli(['run', '--once'], ws.env(url), { timeoutMs: 600_000 });
  assert.equal(clean.code, 0, clean.stdout + clean.stderr.slice(-2000));
  assert.match(clean.stdout, new RegExp(`^✓ wide: ${BATCH} rows in 1 batches`, 'm'));
  assert.deepEqual(await duck(), await source(ROWS));
  const done = readCheckpoint(ws, 'wide');
  assert.deepEqual([done?.rowsTotal, done?.batchesTotal, done?.bootstrapDone], [ROWS, 15, true]);
  await assertVerified(ws, url);
});
