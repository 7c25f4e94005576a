/**
 * A declared primary key that no primary key or unique index covers: `pgduck run` refuses the
 * pipeline before it reads (two rows with one key would collapse into one in DuckDB), with the very
 * message `validate --connect` prints; the other pipelines of the run go on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

const SQL = `
CREATE TABLE events (id int NOT NULL, v text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour');
CREATE INDEX events_updated_at_id ON events (updated_at, id);
INSERT INTO events (id, v) VALUES (1, 'a'), (1, 'b'), (2, 'c');
CREATE TABLE fine (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour');
CREATE INDEX fine_updated_at_id ON fine (updated_at, id);
INSERT INTO fine (id, v) SELECT g, 'v' || g FROM generate_series(1, 5) g;`;

describe('run refuses a key no unique index covers', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('the same message as validate --connect; nothing read; checkpoint absent; the other pipeline syncs', async () => {
    const url = await pgs.createDatabase('non_unique');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\ntarget:\n  table: events\n');
      ws.writePipeline('fine', 'source:\n  table: public.fine\n  primary_key: id\ntarget:\n  table: fine\n');
      const validate = await runCli(['validate', '--connect', ws.pipelinesDir], ws.env(url));
      const line = validate.stdout.split('\n').find((l) => /not known to be unique/.test(l));
      assert.ok(line, validate.stdout + validate.stderr);
      const message = line.slice(line.indexOf('events: ') + 'events: '.length);
      const fix = 'ALTER TABLE "public"."events" ADD PRIMARY KEY ("id");';
      assert.ok(validate.stdout.includes(fix), validate.stdout);

      for (let i = 0; i < 2; i++) {
        const res = await runCli(['run', '--once'], ws.env(url));
        assert.equal(res.code, 4, res.stdout + res.stderr);
        const failed = res.stdout.split('\n').find((l) => l.startsWith('✗ events: ')) ?? '';
        assert.ok(failed.includes(message), `run prints validate's message:\n${res.stdout}\nvalidate said:\n${message}`);
        assert.ok(res.stdout.includes(fix), res.stdout);
        assert.match(res.stdout, /✓ fine: /);
      }
      const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
      try {
        const cp = store.get('events');
        assert.equal(cp?.position ?? null, null, 'checkpoint never moved');
        assert.equal(cp?.rowsTotal ?? 0, 0);
        assert.equal(cp?.lastStatus, 'failed');
      } finally {
        store.close();
      }
      const tables = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT table_name AS t FROM duckdb_tables() ORDER BY 1`), { readOnly: true });
      assert.deepEqual(
        tables.map((r) => r.t),
        ['_pgduck_progress', 'fine'],
        "nothing of events was written (the other table is pgduck's record of fine's progress)",
      );
      const fine = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT count(*)::INT AS n FROM fine`), { readOnly: true });
      assert.equal(fine[0].n, 5);

      // Declaring the key the message asks for lets it sync (here: after removing the duplicate).
      await pgs.query(url, `DELETE FROM events WHERE v = 'a'; ALTER TABLE events ADD PRIMARY KEY (id)`);
      const res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 0, res.stdout + res.stderr);
      const rows = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT id, v FROM events ORDER BY id`), { readOnly: true });
      assert.deepEqual(rows, [
        { id: 1, v: 'b' },
        { id: 2, v: 'c' },
      ]);
    } finally {
      ws.cleanup();
    }
  });
});
