/**
 * A unique index in another collation than its column's nondeterministic one (found by review): a
 * table keyed only by `CREATE UNIQUE INDEX … (code COLLATE "C")` on a case-insensitive column holds
 * 'zz' and 'ZZ' as two rows, but every keyset read compares `(updated_at, code) > ($1, $2)` in the
 * column's collation, where they are one key: a batch ending on one skipped the other, every run
 * ok. Such an index proves no key now (SourceIndex.columnEquality): init skips the table, and
 * `validate --connect` and the run refuse a file keyed on it, before reading. An index in another
 * collation on a column of a deterministic one is still a key (equal there is equal in bytes).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { initCommand } from '../../src/commands/init.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';

let pg: TestPostgres;
let url: string;
let ws: Workspace;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('init_key_collation');
  await pg.query(
    url,
    `CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
     CREATE TABLE codes (code text COLLATE ci NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), note text);
     CREATE UNIQUE INDEX codes_code_c ON codes (code COLLATE "C");
     INSERT INTO codes (code, note) VALUES ('zz', 'lower'), ('ZZ', 'upper');
     CREATE TABLE plain (code text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), note text);
     CREATE UNIQUE INDEX plain_code_c ON plain (code COLLATE "C");
     CREATE INDEX ON codes (updated_at, code);
     CREATE INDEX ON plain (updated_at, code);
     ANALYZE codes, plain;`,
  );
  ws = createWorkspace();
});
after(async () => {
  ws?.cleanup();
  await pg?.stop();
});

test('init skips a table whose only unique index is in another collation than its case-insensitive column; a deterministic one is kept', async () => {
  const out = new PassThrough();
  let said = '';
  out.on('data', (d) => (said += d));
  assert.equal(await initCommand({ databaseUrl: url, out: ws.pipelinesDir, schemas: ['public'], tables: [], force: false }, out, out), 0, said);
  assert.match(said, /skipped "public"\."codes" \(no key\): no primary key, and no unique index over NOT NULL columns \(each in its own collation\)/);
  assert.equal(existsSync(join(ws.pipelinesDir, 'codes.yml')), false);
  assert.match(said, /wrote .*plain\.yml: "public"\."plain", key code \(unique index "plain_code_c"\)/);
});

test('validate --connect and the run refuse a file keyed on it, and read nothing', async () => {
  ws.writePipeline('codes', 'source:\n  table: public.codes\n  primary_key: code\n  cursor: updated_at\ntarget:\n  table: codes\n');
  const validate = await runCli(['validate', '--connect', 'codes'], ws.env(url));
  assert.notEqual(validate.code, 0, validate.stdout);
  assert.match(validate.stdout + validate.stderr, /\("code"\) is not known to be unique/);
  const run = await runCli(['run', '--once', '--only', 'codes'], ws.env(url));
  assert.notEqual(run.code, 0, run.stderr);
  assert.match(run.stdout + run.stderr, /not known to be unique/);
  assert.equal(existsSync(ws.duckdbPath), false, 'nothing read, no DuckDB file made');
});

test('a unique index whose operator class compares otherwise than its column type (text_ops on citext) is no key either; varchar, a domain over text and pattern ops are', async () => {
  const db = await pg.createDatabase('init_key_opclass');
  await pg.query(
    db,
    `CREATE EXTENSION citext;
     CREATE TABLE tagged (code citext NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE UNIQUE INDEX tagged_code_text ON tagged (code text_ops);
     CREATE INDEX ON tagged (updated_at, code);
     INSERT INTO tagged (code) VALUES ('zz'), ('ZZ');
     CREATE DOMAIN label AS text;
     CREATE TABLE named (code varchar(20) NOT NULL, tag label NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE UNIQUE INDEX named_code_tag ON named (code, tag);
     CREATE INDEX ON named (updated_at, code, tag);
     CREATE TABLE skus (code varchar(40) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE UNIQUE INDEX skus_code_pattern ON skus (code varchar_pattern_ops);
     CREATE INDEX ON skus (updated_at, code);
     CREATE TABLE slugs (slug text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
     CREATE UNIQUE INDEX slugs_slug_pattern ON slugs (slug text_pattern_ops);
     CREATE INDEX ON slugs (updated_at, slug);
     INSERT INTO skus (code) VALUES ('a-1'), ('A-1'), ('b');
     ANALYZE tagged, named, skus, slugs;`,
  );
  const dir = createWorkspace();
  try {
    const out = new PassThrough();
    let said = '';
    out.on('data', (d) => (said += d));
    assert.equal(await initCommand({ databaseUrl: db, out: dir.pipelinesDir, schemas: ['public'], tables: [], force: false }, out, out), 0, said);
    assert.match(said, /skipped "public"\."tagged" \(no key\)/);
    assert.match(said, /wrote .*named\.yml: "public"\."named", key code, tag \(unique index "named_code_tag"\)/);
    // Pattern operator classes compare with text's `=` (found by the review of this fix, which refused them at first).
    assert.match(said, /wrote .*skus\.yml: "public"\."skus", key code \(unique index "skus_code_pattern"\)/);
    assert.match(said, /wrote .*slugs\.yml: "public"\."slugs", key slug \(unique index "slugs_slug_pattern"\)/);
    const skus = await runCli(['run', '--once', '--only', 'skus'], dir.env(db));
    assert.equal(skus.code, 0, skus.stdout + skus.stderr);
    assert.match(skus.stdout, /skus: 3 rows/);
    dir.writePipeline('tagged', 'source:\n  table: public.tagged\n  primary_key: code\n  cursor: updated_at\ntarget:\n  table: tagged\n');
    const validate = await runCli(['validate', '--connect', 'tagged'], dir.env(db));
    assert.notEqual(validate.code, 0, validate.stdout);
    assert.match(validate.stdout + validate.stderr, /\("code"\) is not known to be unique/);
  } finally {
    dir.cleanup();
  }
});
