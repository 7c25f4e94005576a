/**
 * Found by review: Postgres 18 lets a NOT NULL constraint be added NOT VALID
 * (`ALTER TABLE … ADD CONSTRAINT … NOT NULL col NOT VALID`): existing rows are not checked, and may
 * hold NULL, yet pg_attribute.attnotnull is true. pgduck reads the cursor's nullability from
 * attnotnull (introspect-table.ts): a "NOT NULL" cursor gets no null-cursor sweep, and the keyset
 * `(cursor, key) > (…)` never sees a NULL cursor. Rows whose cursor is NULL are then never read while
 * every run reported success. Now a NOT NULL constraint counts only once validated: the sweep reads them. (Added after a
 * bootstrap, the rows the sweep read stay; an UPDATE of such a row must set the cursor, the
 * constraint being enforced on new tuples: a passing probe.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { duckIds, runOutcome } from '../support/sync-checks.js';

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const PIPELINE = 'source:\n  table: public.events\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: events\nbatch_size: 5\n';

for (const when of ['before the bootstrap', 'after the bootstrap'] as const) {
  test(`NULL cursors under a NOT VALID NOT NULL constraint, added ${when}: every row is synced`, async () => {
    const url = await pgs.createDatabase(`nv_nn_${when === 'before the bootstrap' ? 'b' : 'a'}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE events (id int PRIMARY KEY, note text, updated_at timestamptz);
         CREATE INDEX ON events (updated_at, id);
         INSERT INTO events SELECT g, 'dated', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 12) AS g;
         INSERT INTO events SELECT g, 'legacy', NULL FROM generate_series(13, 15) AS g;`,
      );
      ws.writePipeline('events', PIPELINE);
      const constrain = `ALTER TABLE events ADD CONSTRAINT events_updated_at_nn NOT NULL updated_at NOT VALID`;
      if (when === 'before the bootstrap') await pgs.query(url, constrain);
      const first = await runOutcome(ws, url);
      assert.ok(first.ok, first.ok ? '' : first.message);
      if (when === 'after the bootstrap') {
        await pgs.query(url, constrain);
        // A legacy row, inserted before, still NULL; and new rows, which must have a cursor now.
        await pgs.query(url, `INSERT INTO events VALUES (16, 'new', '2025-02-01 00:00:00+00')`);
        const second = await runOutcome(ws, url);
        assert.ok(second.ok, second.ok ? '' : second.message);
      }
      const notNull = (await pgs.query(url, `SELECT attnotnull::text AS nn FROM pg_attribute WHERE attrelid = 'events'::regclass AND attname = 'updated_at'`))
        .rows[0].nn;
      console.log(`${when}: attnotnull = ${notNull}`);
      const source = (await pgs.query(url, 'SELECT id FROM events ORDER BY id')).rows.map((r) => Number(r.id));
      const synced = await duckIds(ws, 'events');
      assert.deepEqual(synced, source, `rows synced after successful runs: ${JSON.stringify(synced)}`);
    } finally {
      ws.cleanup();
    }
  });
}

test('NULL keys under a NOT VALID NOT NULL constraint and a unique index: the run stops naming the row (SOURCE_NULL_KEY), as for any nullable key, not as an internal error', async () => {
  const url = await pgs.createDatabase('nv_nn_key');
  const ws = createWorkspace();
  try {
    await pgs.query(
      url,
      `CREATE TABLE events (id int, note text, updated_at timestamptz NOT NULL);
       CREATE UNIQUE INDEX events_id_key ON events (id);
       CREATE INDEX ON events (updated_at, id);
       INSERT INTO events SELECT g, 'keyed', '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 12) AS g;
       INSERT INTO events SELECT NULL, 'unkeyed ' || g, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(13, 15) AS g;
       ALTER TABLE events ADD CONSTRAINT events_id_nn NOT NULL id NOT VALID;`,
    );
    ws.writePipeline('events', PIPELINE);
    const first = await runOutcome(ws, url);
    assert.equal(first.ok, false, 'three rows have no key');
    if (first.ok) return;
    assert.equal(first.code, 'SOURCE_NULL_KEY', first.message);
    assert.equal(first.kind, 'needs-action');
  } finally {
    ws.cleanup();
  }
});
