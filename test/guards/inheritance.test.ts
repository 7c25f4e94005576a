/**
 * Found by review: a source table with inheritance children (table inheritance, the pre-PG10 way to
 * partition, still common). `SELECT … FROM parent` returns the children's rows too, but a parent's
 * PRIMARY KEY or unique index covers the parent's own rows only (Postgres docs, 5.10.1 "Caveats"),
 * and the parent's relfilenode does not move when a child is added (`INHERIT`). The source guard took
 * the parent's key for proof, so:
 *  1. two rows with one key (one in the parent, one in a child) collapsed into one DuckDB row while
 *     every run and the reconcile reported success (25 rows in Postgres, 20 in DuckDB);
 *  2. a child attached with `ALTER TABLE … INHERIT` brought rows with old cursors that no run read.
 * A table with inheritance children is now refused like one whose key is not unique (SOURCE_REFUSED,
 * needs-action, src/live/judge-source.ts): before anything is read, the DuckDB table and the
 * checkpoint left as they were.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { duckIds, runOnce, runOutcome } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const PIPELINE = 'source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: events\nbatch_size: 5\n';

test('rows added to an inheritance child under keys the parent holds too: the run refuses, nothing collapsed', async () => {
  const url = await pgs.createDatabase('review_inherit_dup');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'parent', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;`,
    );
    ws.writePipeline('events', PIPELINE);
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 20);

    // Rows archived into the child under ids the parent still holds (nothing in Postgres forbids it).
    await pgs.query(
      url,
      `CREATE TABLE events_archive (PRIMARY KEY (id)) INHERITS (events);
       INSERT INTO events_archive (id, note) SELECT g, 'child' FROM generate_series(1, 5) AS g`,
    );
    const outcome = await runOutcome(ws, url);
    assert.equal(outcome.ok, false, 'the run refuses a table with inheritance children');
    if (outcome.ok) return;
    assert.deepEqual([outcome.kind, outcome.code], ['needs-action', 'SOURCE_REFUSED']);
    assert.match(outcome.message, /"public"\."events" has 1 inheritance child .*FROM ONLY/);
    // Nothing was read: the table keeps its 20 rows, one per key.
    assert.deepEqual(
      await duckIds(ws, 'events'),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  } finally {
    ws.cleanup();
  }
});

test('a child attached with ALTER TABLE … INHERIT, holding rows with old cursors: the next run refuses, nothing reported synced', async () => {
  const url = await pgs.createDatabase('review_inherit_attach');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int PRIMARY KEY, note text, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'live', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) AS g;
       CREATE TABLE events_2024 (LIKE events INCLUDING ALL);
       INSERT INTO events_2024 SELECT -g, 'archived', '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) AS g;`,
    );
    ws.writePipeline('events', PIPELINE);
    await runOnce(ws, url);
    assert.equal((await duckIds(ws, 'events')).length, 20);

    await pgs.query(url, `ALTER TABLE events_2024 INHERIT events`);
    const outcome = await runOutcome(ws, url);
    assert.equal(outcome.ok, false, 'the run refuses: its rows could not all be read');
    if (outcome.ok) return;
    assert.equal(outcome.code, 'SOURCE_REFUSED');
    assert.equal((await duckIds(ws, 'events')).length, 20);
    // Taken apart again, the table syncs as before.
    await pgs.query(url, `ALTER TABLE events_2024 NO INHERIT events`);
    await runOnce(ws, url);
    assert.deepEqual(
      await duckIds(ws, 'events'),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  } finally {
    ws.cleanup();
  }
});
