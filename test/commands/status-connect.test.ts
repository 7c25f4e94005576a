/**
 * `pgduck status --connect`: the lag of each pipeline measured in Postgres against its checkpoint,
 * rows and seconds, while the rest of status still comes from the state store; a pipeline whose
 * table is gone says so and the others are still measured. The password never appears.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { readCheckpoint, runOnce } from '../support/sync-checks.js';
import type { SourceLag } from '../../src/live/source-lag.js';

const SQL = `
CREATE TABLE events (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
CREATE TABLE days (id int PRIMARY KEY, updated_on date NOT NULL);
INSERT INTO events SELECT i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' FROM generate_series(1, 300) AS i;
INSERT INTO days SELECT i, date '2026-01-01' + i FROM generate_series(1, 20) AS i;`;

describe('pgduck status --connect', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('rows and seconds behind each checkpoint; a missing table is named, the others measured', async () => {
    const url = await pgs.createDatabase('status_connect');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('events', 'source:\n  table: public.events\n  primary_key: id\ntarget:\n  table: events\nbatch_size: 100\n');
      ws.writePipeline('days', 'source:\n  table: public.days\n  primary_key: id\n  cursor: updated_on\ntarget:\n  table: days\n');
      await runOnce(ws, url);
      assert.equal(readCheckpoint(ws, 'events')?.position?.cursor.startsWith('2026-01-01 00:05:00'), true);

      const status = async () => {
        const res = await runCli(['status', '--connect', '--json'], ws.env(url));
        assert.equal(res.code, 0, res.stderr);
        return (JSON.parse(res.stdout) as { lag: Record<string, SourceLag | { error: string }> }).lag;
      };
      assert.deepEqual((await status()).events, { rowsBehind: 0, capped: false, newestCursor: '2026-01-01 00:05:00+00', secondsBehind: 0 });

      // 7 rows after the checkpoint, the newest one hour past it; 3 days added to the date cursor.
      await pgs.query(
        url,
        `INSERT INTO events SELECT i, timestamptz '2026-01-01 00:05:00+00' + (i - 300) * interval '1 second' FROM generate_series(301, 306) AS i`,
      );
      await pgs.query(url, `INSERT INTO events VALUES (307, timestamptz '2026-01-01 01:05:00+00')`);
      await pgs.query(url, `INSERT INTO days VALUES (21, date '2026-01-24'), (22, date '2026-01-22')`);
      const lag = await status();
      assert.deepEqual(lag.events, { rowsBehind: 7, capped: false, newestCursor: '2026-01-01 01:05:00+00', secondsBehind: 3600 });
      assert.deepEqual(lag.days, { rowsBehind: 2, capped: false, newestCursor: '2026-01-24', secondsBehind: 3 * 86400 });

      const text = await runCli(['status', '--connect'], ws.env(url));
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /events\s+7 rows behind, 1\.0 h behind the newest cursor/);
      assert.match(text.stdout, /days\s+2 rows behind, 3\.0 days behind the newest cursor/);

      await pgs.query(url, 'DROP TABLE days');
      const gone = await runCli(['status', '--connect'], ws.env(url));
      assert.equal(gone.code, 0, gone.stderr);
      assert.match(gone.stdout, /days\s+not measured: source table public\.days does not exist/);
      assert.match(gone.stdout, /events\s+7 rows behind/);
      const password = new URL(url).password;
      if (password) assert.ok(!gone.stdout.includes(password) && !gone.stderr.includes(password));
    } finally {
      ws.cleanup();
    }
  });
});
