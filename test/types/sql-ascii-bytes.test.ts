/**
 * Database encodings (a review's probes, kept): a source database created with ENCODING 'SQL_ASCII' stores
 * text as bytes, unchecked, and sends them as they are whatever client_encoding says (no conversion
 * from SQL_ASCII). Text there may hold bytes that are not UTF-8 (LATIN1 data written by an old
 * application: 'caf\xe9'). DuckDB's VARCHAR cannot hold them; a correct pgduck either keeps every
 * byte or refuses the batch naming the column, never replaces them.
 *
 * The worry: node-pg decodes a row-array value as UTF-8, replacing invalid sequences with U+FFFD
 * (two keys 'a\xfe' and 'a\xff' would both become 'a\uFFFD'); DuckDB's read_csv would refuse them.
 * Probes, both hold: pg-protocol sends client_encoding=UTF8 in every startup packet, and a SQL_ASCII
 * server validates what it sends in the client encoding, so the query itself fails ('invalid byte
 * sequence for encoding "UTF8"') on the CSV path and on the row-array path (nullable cursor) alike.
 * That refusal was reported as INTERNAL; it is now the data's (SOURCE_TEXT_NOT_UTF8, needs action).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace } from '../support/workspace.js';
import { runOutcome } from '../support/sync-checks.js';

let pgs: TestPostgres;

before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

const sqlAsciiDatabase = (name: string) => pgs.createDatabase(name, { encoding: 'SQL_ASCII' });

const pipeline = (key: string, extra = '') =>
  `source:\n  table: public.items\n  primary_key: ${key}\n  cursor: updated_at\n${extra}target:\n  table: items\nbatch_size: 100\n`;

for (const cursor of ['timestamptz NOT NULL', 'timestamptz'] as const) {
  const path = cursor.endsWith('NOT NULL') ? 'CSV data path (NOT NULL cursor)' : 'row-array path (nullable cursor, null_cursor: include)';

  test(`SQL_ASCII source, a value with a non-UTF-8 byte, ${path}: refused as the data's problem`, async () => {
    const url = await sqlAsciiDatabase(`sqlascii_value_${cursor.endsWith('NOT NULL') ? 'nn' : 'null'}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE items (k text PRIMARY KEY, note text NOT NULL, updated_at ${cursor});
         CREATE INDEX ON items (updated_at, k);
         INSERT INTO items VALUES ('a', E'caf\\xe9', '2025-01-01 00:00:00+00'), ('b', E'na\\xefve', '2025-01-01 00:00:00+00');`,
      );
      ws.writePipeline('items', pipeline('k'));
      const outcome = await runOutcome(ws, url);
      assert.equal(outcome.ok, false, 'the server refuses to send the bytes as UTF-8');
      if (outcome.ok) return;
      assert.match(outcome.message, /invalid byte sequence/);
      assert.deepEqual([outcome.code, outcome.kind], ['SOURCE_TEXT_NOT_UTF8', 'needs-action']);
    } finally {
      ws.cleanup();
    }
  });

  test(`SQL_ASCII source, two text keys differing only in a non-UTF-8 byte, ${path}: refused, never collapsed`, async () => {
    const url = await sqlAsciiDatabase(`sqlascii_key_${cursor.endsWith('NOT NULL') ? 'nn' : 'null'}`);
    const ws = createWorkspace();
    try {
      await pgs.query(
        url,
        `CREATE TABLE items (k text PRIMARY KEY, note text NOT NULL, updated_at ${cursor});
         CREATE INDEX ON items (updated_at, k);
         INSERT INTO items VALUES (E'a\\xfe', 'first', '2025-01-01 00:00:00+00'), (E'a\\xff', 'second', '2025-01-01 00:00:00+00');`,
      );
      ws.writePipeline('items', pipeline('k'));
      const outcome = await runOutcome(ws, url);
      assert.equal(outcome.ok, false, 'the server refuses to send the bytes as UTF-8: never two keys made one');
      if (outcome.ok) return;
      assert.deepEqual([outcome.code, outcome.kind], ['SOURCE_TEXT_NOT_UTF8', 'needs-action'], outcome.message);
    } finally {
      ws.cleanup();
    }
  });
}
