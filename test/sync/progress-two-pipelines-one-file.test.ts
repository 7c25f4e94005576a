/**
 * Guard kept from a review (passing): two pipelines writing one DuckDB file at once each commit their row in
 * main._pgduck_progress; many runs, a crash after one's commit: neither is bootstrapped again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, runOnce, settle } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

test('two pipelines, one DuckDB file, concurrent runs: no false re-bootstrap', async () => {
  const url = await pgs.createDatabase('two_in_one');
  const ws = createWorkspace();
  try {
    for (const t of ['a', 'b']) {
      await pgs.query(
        url,
        `CREATE TABLE ${t} (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO ${t} SELECT g, 'x', '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 40) g;`,
      );
      ws.writePipeline(t, `source:\n  table: public.${t}\n  primary_key: id\ntarget:\n  table: ${t}\nbatch_size: 3\n`);
    }
    await runOnce(ws, url);
    for (let i = 0; i < 4; i++) {
      await pgs.query(
        url,
        `INSERT INTO a (id, note) VALUES (${100 + i}, 'n'); INSERT INTO b (id, note) VALUES (${100 + i}, 'n'); UPDATE a SET note='u${i}', updated_at=now() WHERE id < 10`,
      );
      await settle();
      if (i === 2) {
        const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-commit' });
        assert.equal(killed.signal, 'SIGKILL');
      }
      const out = await runOnce(ws, url);
      assert.doesNotMatch(out.stderr, /bootstraps again|put back to an older copy/, `run ${i}`);
    }
    await assertVerified(ws, url);
  } finally {
    ws.cleanup();
  }
});
