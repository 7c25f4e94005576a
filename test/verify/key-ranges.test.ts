/**
 * Key ranges mean the same rows on both sides, whatever the key: int4, int8 beyond 2^53, uuid, text in
 * a linguistic (ICU) collation, a composite of text and int, an enum declared out of alphabetical
 * order, timestamptz with microseconds and ±infinity, unconstrained numeric (text in DuckDB).
 * Each table is synced by the real CLI, then corrupted in DuckDB (changed rows, a deleted run of rows,
 * extra rows past and between the source's keys), and `verify`, narrowing in small steps so that
 * boundaries come from both sides, must report exactly the corrupted keys, nothing else: if the two
 * engines ordered a key differently, rows would fall into different ranges and show up as spurious
 * missing/extra pairs.
 */
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { quoteIdent as q, quoteLiteral } from '../../src/sql/identifier.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { resolveSettings } from '../../src/runner/settings.js';
import { verifyPipeline } from '../../src/repair/verify-pipeline.js';

interface KeyCase {
  table: string;
  keys: string[];
  /** Column definitions of the key columns. */
  ddl: string;
  /** SELECT producing the key columns (named as in `keys`) from g = 1…3000. */
  rows: string;
  /** Extra keys (one text per key column) inserted into DuckDB only. */
  extras: string[][];
}

const N = 3000;
const series = `generate_series(1, ${N}) AS g`;

const CASES: KeyCase[] = [
  { table: 'k_int', keys: ['k'], ddl: 'k int', rows: `SELECT g AS k FROM ${series}`, extras: Array.from({ length: 120 }, (_, j) => [String(5001 + j)]) },
  {
    table: 'k_big',
    keys: ['k'],
    ddl: 'k bigint',
    rows: `SELECT CASE g WHEN 1 THEN -9223372036854775808 WHEN 2 THEN 9223372036854775807 ELSE 9007199254740000 + g * 3 END AS k FROM ${series}`,
    extras: Array.from({ length: 120 }, (_, j) => [String(9007199254740001n + 3n * BigInt(j * 20))]),
  },
  { table: 'k_uuid', keys: ['k'], ddl: 'k uuid', rows: `SELECT md5(g::text)::uuid AS k FROM ${series}`, extras: [] },
  {
    table: 'k_text',
    keys: ['k'],
    ddl: 'k text COLLATE "en-x-icu"',
    rows:
      `SELECT CASE g % 5 WHEN 0 THEN upper(md5(g::text)) WHEN 1 THEN md5(g::text) WHEN 2 THEN 'é' || md5(g::text) ` +
      `WHEN 3 THEN ' ' || substr(md5(g::text), 1, 6) || 'Z' ELSE 'B' || md5(g::text) END AS k FROM ${series}`,
    extras: [...Array.from({ length: 60 }, (_, j) => [`zz${j}`]), ...Array.from({ length: 60 }, (_, j) => [`A${j}`]), ['b'], ['É'], [''], ['😀']],
  },
  {
    table: 'k_comp',
    keys: ['t', 'n'],
    ddl: 't text COLLATE "en-x-icu", n int',
    rows: `SELECT CASE WHEN g % 2 = 0 THEN upper(substr(md5((g / 10)::text), 1, 6)) ELSE substr(md5((g / 10)::text), 1, 6) END AS t, g % 10 AS n FROM ${series}`,
    extras: [],
  },
  {
    table: 'k_enum',
    keys: ['e', 'n'],
    ddl: 'e letter, n int',
    rows: `SELECT (enum_range(NULL::letter))[1 + g % 26] AS e, g / 26 AS n FROM ${series}`,
    extras: Array.from({ length: 40 }, (_, j) => ['bravo', String(1000 + j)]),
  },
  {
    table: 'k_ts',
    keys: ['k'],
    ddl: 'k timestamptz',
    rows: `SELECT CASE g WHEN 1 THEN 'infinity' WHEN 2 THEN '-infinity' ELSE timestamptz '2024-01-01 00:00:00+00' + g * interval '1 microsecond' END AS k FROM ${series}`,
    extras: Array.from({ length: 50 }, (_, j) => [`2023-12-31 23:59:59.${String(999999 - j).padStart(6, '0')}+00`]),
  },
  {
    table: 'k_num',
    keys: ['k'],
    ddl: 'k numeric',
    rows: `SELECT CASE g WHEN 1 THEN 'NaN'::numeric WHEN 2 THEN 1.10 WHEN 3 THEN -5 ELSE round(g::numeric / 8, 3) END AS k FROM ${series}`,
    extras: [['1.1'], ['10'], ['-5.0'], ['99999.5']],
  },
];

const LETTERS = [
  'zulu',
  'yankee',
  'xray',
  'whiskey',
  'victor',
  'uniform',
  'tango',
  'sierra',
  'romeo',
  'quebec',
  'papa',
  'oscar',
  'november',
  'mike',
  'lima',
  'kilo',
  'juliett',
  'india',
  'hotel',
  'golf',
  'foxtrot',
  'echo',
  'delta',
  'charlie',
  'bravo',
  'alpha',
];

describe('verify: key ranges agree across Postgres and DuckDB for every kind of key', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('keys');
    await pg.query(url, `CREATE TYPE letter AS ENUM (${LETTERS.map(quoteLiteral).join(', ')})`);
    ws = createWorkspace();
    for (const c of CASES) {
      await pg.query(
        url,
        `CREATE TABLE ${c.table} (${c.ddl}, payload text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (${c.keys.map(q).join(', ')}));
         INSERT INTO ${c.table} (${c.keys.map(q).join(', ')}, payload) SELECT *, md5(random()::text) FROM (${c.rows}) AS s`,
      );
      ws.writePipeline(c.table, `source:\n  table: public.${c.table}\n  primary_key: [${c.keys.join(', ')}]\ntarget:\n  table: ${c.table}\nbatch_size: 1000\n`);
    }
    await runOnce(ws, url);
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  for (const c of CASES) {
    test(`${c.table}: exactly the corrupted keys are reported`, async () => {
      const { specs } = loadPipelines([ws.pipelinesDir]);
      const spec = specs.find((s) => s.name === c.table);
      assert.ok(spec);
      const settings = resolveSettings({}, ws.env(url));
      const clean = await verifyPipeline(resolvePipeline(spec, settings), { leafRows: 16, fanout: 4, maxFanout: 4, limit: 10_000 });
      assert.equal(clean.error, undefined);
      assert.equal(clean.equal, true, JSON.stringify(clean.verdict?.differences.slice(0, 5)));

      // Keys in Postgres' own order, as Postgres prints them.
      const keyText = c.keys.map((k) => `${q(k)}::text`).join(', ');
      const all = (await pg.query(url, `SELECT ${keyText} FROM ${c.table} ORDER BY ${c.keys.map(q).join(', ')}`)).rows.map((r) =>
        c.keys.map((k) => String(r[k])),
      );
      const changed = [all[0], all[Math.floor(N / 2)], all[N - 1]];
      const missing = [all[10], all[11], ...all.slice(N / 3, N / 3 + 200)];

      const types = await withDuckDbFile(
        ws.duckdbPath,
        (s) => s.all(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ${quoteLiteral(c.table)}`),
        {
          readOnly: true,
        },
      );
      const typeOf = (k: string) => String(types.find((t) => t.column_name === k)?.data_type);
      const match = (key: string[]) => `(${c.keys.map((k, i) => `${q(k)} = CAST(${quoteLiteral(key[i])} AS ${typeOf(k)})`).join(' AND ')})`;
      const extraDisplay = await withDuckDbFile(ws.duckdbPath, async (s) => {
        await s.run(`UPDATE ${c.table} SET payload = payload || 'x' WHERE ${changed.map(match).join(' OR ')}`);
        await s.run(`DELETE FROM ${c.table} WHERE ${missing.map(match).join(' OR ')}`);
        for (const key of c.extras) {
          await s.run(
            `INSERT INTO ${c.table} SELECT * REPLACE (${c.keys.map((k, i) => `CAST(${quoteLiteral(key[i])} AS ${typeOf(k)}) AS ${q(k)}`).join(', ')}) FROM ${c.table} LIMIT 1`,
          );
        }
        await s.run("SET TimeZone = 'UTC'");
        return c.extras.length === 0
          ? []
          : (
              await s.all(
                `SELECT ${c.keys.map((k, i) => `CAST(${q(k)} AS VARCHAR) AS k${i}`).join(', ')} FROM ${c.table} WHERE ${c.extras.map(match).join(' OR ')}`,
              )
            ).map((r) => c.keys.map((_, i) => String(r[`k${i}`])));
      });
      assert.equal(extraDisplay.length, c.extras.length, 'every extra key is new');

      const v = await verifyPipeline(resolvePipeline(spec, settings), { leafRows: 16, fanout: 4, maxFanout: 4, limit: 10_000 });
      assert.equal(v.equal, false);
      const d = v.verdict;
      assert.ok(d);
      const found = d.differences.map((x) => `${x.kind} ${JSON.stringify(c.keys.map((k) => x.key[k]))}`).sort();
      const expected = [
        ...changed.map((k) => `changed ${JSON.stringify(k)}`),
        ...missing.map((k) => `missing ${JSON.stringify(k)}`),
        ...extraDisplay.map((k) => `extra ${JSON.stringify(k)}`),
      ].sort();
      assert.deepEqual(found, expected);
      assert.deepEqual([d.changed, d.missing, d.extra, d.truncated], [3, missing.length, c.extras.length, false]);
      for (const x of d.differences.filter((y) => y.kind === 'changed')) assert.deepEqual(x.columns, ['payload']);
      assert.equal(d.sourceRows, N);
      assert.equal(d.targetRows, N - missing.length + c.extras.length);
      assert.ok(d.stats.deepestLevel >= 3, `narrowed in ${d.stats.deepestLevel} levels`);

      // The wide cut (the default, here with smaller leaves): the whole table in one pass into parts of
      // about 16 rows (187 boundaries in one binary-search CASE), the same keys found.
      const wide = await verifyPipeline(resolvePipeline(spec, settings), { leafRows: 64, limit: 10_000 });
      const w = wide.verdict;
      assert.ok(w);
      assert.deepEqual(w.differences.map((x) => `${x.kind} ${JSON.stringify(c.keys.map((k) => x.key[k]))}`).sort(), expected);
      // Up to 3 levels: the 200 missing keys make one part of the target's cut 13× wider in the source,
      // and differing leaves are cut once more before their rows are fetched (verify-table.ts).
      assert.ok(w.stats.deepestLevel <= 3, `narrowed in ${w.stats.deepestLevel} levels`);
      assert.ok(w.stats.rangesDigested >= 2 * 180, `${w.stats.rangesDigested} ranges digested`);
    });
  }
});
