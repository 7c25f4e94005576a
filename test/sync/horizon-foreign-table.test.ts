/**
 * A foreign table as the source (postgres_fdw), found by review (row loss 16): its rows are written on
 * another server (here: another database of the same server), whose open transactions are not in
 * the pg_stat_activity rows of this database that the commit-safe horizon reads (rule 3). A remote
 * transaction that took now() = T1 and committed after a run had checkpointed past T1 brought a row
 * the keyset never read, while every run reported success. A source that is a foreign table, or a
 * view whose definition reaches one (through other views), now falls back to now() minus
 * horizon.lookback_seconds with one warning per pipeline (src/postgres/horizon.ts, mode 'foreign'),
 * as a logical-replication subscriber does; `validate --connect` says so too (check 'foreign').
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { duckIds, runOnce, TestClients } from '../support/sync-checks.js';

let pgs: TestPostgres;
const clients = new TestClients();
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await clients.endAll();
  await pgs?.stop();
});

/** A remote database holding `events` and a local one that reads it as a foreign table (and through two views). */
async function foreignSetup(name: string): Promise<{ remoteUrl: string; localUrl: string }> {
  const remoteUrl = await pgs.createDatabase(`${name}_remote`);
  const localUrl = await pgs.createDatabase(`${name}_local`);
  await pgs.query(
    remoteUrl,
    `CREATE TABLE events (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON events (updated_at, id);
     INSERT INTO events SELECT g, 'old', now() - interval '1 hour' + g * interval '1 second' FROM generate_series(1, 10) AS g;
     CREATE TABLE remote_part (id int NOT NULL, updated_at timestamptz NOT NULL);`,
  );
  const r = new URL(remoteUrl);
  await pgs.query(
    localUrl,
    `CREATE EXTENSION postgres_fdw;
     CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${r.hostname}', port '${r.port}', dbname '${r.pathname.slice(1)}');
     CREATE USER MAPPING FOR CURRENT_USER SERVER remote OPTIONS (user '${decodeURIComponent(r.username)}', password '${decodeURIComponent(r.password)}');
     CREATE FOREIGN TABLE events (id int NOT NULL, note text, updated_at timestamptz NOT NULL) SERVER remote OPTIONS (schema_name 'public', table_name 'events');
     CREATE VIEW events_inner AS SELECT id, note, updated_at FROM events;
     CREATE VIEW events_v AS SELECT id, note, updated_at FROM events_inner WHERE id > 0;
     CREATE TABLE local_events (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE INDEX ON local_events (updated_at, id);
     CREATE TABLE mixed (id int NOT NULL, updated_at timestamptz NOT NULL) PARTITION BY RANGE (id);
     CREATE TABLE mixed_local PARTITION OF mixed FOR VALUES FROM (0) TO (1000);
     CREATE FOREIGN TABLE mixed_remote PARTITION OF mixed FOR VALUES FROM (1000) TO (2000) SERVER remote OPTIONS (table_name 'remote_part');`,
  );
  return { remoteUrl, localUrl };
}

const pipeline = (table: string, target: string) =>
  `source:\n  table: public.${table}\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: ${target}\nbatch_size: 5\n`;

const warnings = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 40 && /foreign table/.test(l.msg))
    .map((l) => l.msg);

for (const through of ['foreign table', 'view over a view over a foreign table'] as const) {
  test(`${through}, written by a remote transaction open across a run: its row is synced (lookback fallback, one warning)`, async () => {
    const tag = through === 'foreign table' ? 'ft' : 'ftview';
    const { remoteUrl, localUrl } = await foreignSetup(`fdw_${tag}`);
    const ws = createWorkspace();
    try {
      ws.writePipeline(`events_${tag}`, pipeline(through === 'foreign table' ? 'events' : 'events_v', 'events'));
      const boot = await runOnce(ws, localUrl);
      assert.equal((await duckIds(ws, 'events')).length, 10);
      const said = warnings(boot.stderr);
      assert.equal(said.length, 1, `one warning:\n${boot.stderr}`);
      assert.match(
        said[0],
        through === 'foreign table'
          ? /^the source "public"\."events" is a foreign table: its rows are written on another server/
          : /^the source "public"\."events_v" reads the foreign table "public"\."events": its rows are written on another server/,
      );
      assert.match(said[0], /falling back to horizon\.lookback_seconds \(300 s\)/);

      // A remote writer's transaction starts (now() = T1) and writes row 100, not yet committed.
      const slow = await clients.connect(remoteUrl);
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO events (id, note) VALUES (100, 'slow writer')`);
      await sleep(300);
      // Another remote writer commits row 101 (now() = T2 > T1).
      await pgs.query(remoteUrl, `INSERT INTO events (id, note) VALUES (101, 'fast writer')`);
      await sleep(2500); // past horizon.margin_ms (1 s): T2 is below now() - margin
      const during = await runOnce(ws, localUrl);
      assert.deepEqual(warnings(during.stderr), [], 'said once per pipeline');
      assert.ok((await duckIds(ws, 'events')).includes(101), 'the committed row is loaded');
      await slow.query('COMMIT');

      await runOnce(ws, localUrl);
      const source = (await pgs.query(remoteUrl, 'SELECT id FROM events ORDER BY id')).rows.map((x) => Number(x.id));
      assert.deepEqual(await duckIds(ws, 'events'), source, 'DuckDB after the remote commit');
    } finally {
      ws.cleanup();
    }
  });
}

test('validate --connect warns for a foreign table, a view reaching one and a partitioned table with a foreign partition; not for a local table', async () => {
  const { localUrl } = await foreignSetup('fdw_validate');
  const ws = createWorkspace();
  try {
    ws.writePipeline('ft', pipeline('events', 'ft'));
    ws.writePipeline('ft_view', pipeline('events_v', 'ft_view'));
    ws.writePipeline('ft_mixed', pipeline('mixed', 'ft_mixed'));
    ws.writePipeline('local', pipeline('local_events', 'local'));
    const res = await runCli(['validate', '--connect', '--json', ws.pipelinesDir], ws.env(localUrl));
    const findings = (JSON.parse(res.stdout) as { live: { findings: { check: string; severity: string; pipelines: string[]; message: string }[] } }).live
      .findings;
    const foreign = findings.filter((f) => f.check === 'foreign');
    assert.deepEqual(
      foreign.map((f) => [f.pipelines[0], f.severity]).sort(),
      [
        ['ft', 'warning'],
        ['ft_mixed', 'warning'],
        ['ft_view', 'warning'],
      ],
      res.stdout,
    );
    const message = (name: string) => foreign.find((f) => f.pipelines[0] === name)?.message ?? '';
    assert.match(message('ft'), /^"public"\."events" is a foreign table: its rows are written on another server/);
    assert.match(message('ft_view'), /^"public"\."events_v" reads the foreign table "public"\."events"/);
    assert.match(message('ft_mixed'), /^"public"\."mixed" reads the foreign table "public"\."mixed_remote"/);
    assert.match(message('ft'), /falls back to re-reading horizon\.lookback_seconds/);
  } finally {
    ws.cleanup();
  }
});
