/**
 * Found by review: two pipeline files swap their target.table while both bootstraps are in flight in the
 * service (alpha: t_alpha → t_beta, beta: t_beta → t_alpha; one writer per table in the directory
 * at every moment, as the set check requires). Each run in flight finishes on its old table; the
 * next run of each finds its checkpoint written for another table and bootstraps again ("a
 * checkpoint belongs to its table") — into a table that exists and holds the other source's rows.
 * The bootstrap upserted over it and deleted nothing: the rows of the other source whose keys this
 * source does not have stayed, and each run reported success. A target table now records its source
 * (its table comment): a bootstrap from the beginning into a table made for another source is refused
 * (TARGET_TAKEN, needs-action), and both tables keep their own source's rows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { duckIds, readCheckpoint } from '../support/sync-checks.js';
import { startService } from '../support/service-process.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const ROWS = 20_000;
const table = (t: string, offset: number) =>
  `CREATE TABLE ${t} (id int PRIMARY KEY, note text NOT NULL, updated_at timestamptz NOT NULL);
   CREATE INDEX ON ${t} (updated_at, id);
   INSERT INTO ${t} SELECT g + ${offset}, '${t} ' || g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, ${ROWS}) AS g;`;
const yaml = (source: string, target: string) =>
  `source:\n  table: public.${source}\n  primary_key: id\ntarget:\n  table: ${target}\nbatch_size: 100\nschedule: "* * * * * *"\n`;

test('two pipelines swap their target tables while both bootstrap: each table holds its own source’s rows only', async () => {
  const url = await pgs.createDatabase('swap_targets');
  // Keys overlap by half: alpha 1..20000, beta 10001..30000.
  await pgs.query(url, table('alpha', 0) + table('beta', ROWS / 2));
  const ws = createWorkspace();
  ws.writePipeline('alpha', yaml('alpha', 't_alpha'));
  ws.writePipeline('beta', yaml('beta', 't_beta'));
  const svc = startService({ ...ws.env(url), PGDUCK_RELOAD_SECONDS: '1', PGDUCK_CONCURRENCY: '2' });
  const files = (p: string) => {
    const dir = join(ws.parquetDir, p);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.parquet')).length : 0;
  };
  // The workspace goes whatever happens, a failure of the first phase included.
  try {
    try {
      await svc.waitFor('both bootstraps under way', () => files('alpha') >= 3 && files('beta') >= 3);
      assert.equal(readCheckpoint(ws, 'alpha')?.bootstrapDone ?? false, false, 'the edit must come while alpha bootstraps');
      ws.writePipeline('alpha', yaml('alpha', 't_beta'));
      ws.writePipeline('beta', yaml('beta', 't_alpha'));
      await svc.waitFor('the reload of both', () =>
        svc.lines().some((l) => l.msg.startsWith('pipelines reloaded') && (l.changed as string[] | undefined)?.length === 2),
      );
      const retargeted = (p: string) => svc.lines().some((l) => l.pipeline === p && /checkpoint was written for/.test(l.msg));
      await svc.waitFor('both retargeted', () => retargeted('alpha') && retargeted('beta'));
      const refused = (p: string) => svc.lines().some((l) => l.pipeline === p && l.error?.code === 'TARGET_TAKEN');
      await svc.waitFor('both refused', () => refused('alpha') && refused('beta'));
    } finally {
      await svc.stop();
    }
    const taken = svc.lines().find((l) => l.pipeline === 'alpha' && l.error?.code === 'TARGET_TAKEN');
    assert.equal(taken?.error?.kind, 'needs-action');
    assert.match(String(taken?.error?.message), /DuckDB table t_beta holds rows synced from source public\.beta, not from public\.alpha/);
    // Each table holds its own source's rows, all of them, and no other.
    assert.deepEqual(
      await duckIds(ws, 't_alpha'),
      Array.from({ length: ROWS }, (_, i) => i + 1),
    );
    assert.deepEqual(
      await duckIds(ws, 't_beta'),
      Array.from({ length: ROWS }, (_, i) => i + 1 + ROWS / 2),
    );
  } finally {
    ws.cleanup();
  }
});
