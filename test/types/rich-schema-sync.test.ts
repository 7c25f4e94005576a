/**
 * "A schema with enums, domains, arrays, tsvector and a partitioned table syncs without manual work":
 * plain pipeline files (nothing about types in them), `pgduck run --once`, and DuckDB equals Postgres;
 * then a new partition, changes and a column added with a DEFAULT to the partitioned table, synced again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';

const SCHEMA = `
CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA shop;
CREATE TYPE shop.order_status AS ENUM ('new', 'paid', 'shipped', 'it''s, "odd"');
CREATE DOMAIN shop.money_amount AS numeric(12,2) CHECK (VALUE >= 0);
CREATE DOMAIN shop.email AS citext;
CREATE DOMAIN shop.sku_list AS text[];
CREATE FUNCTION shop.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;

CREATE TABLE shop.orders (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status     shop.order_status NOT NULL,
  history    shop.order_status[],
  total      shop.money_amount,
  email      shop.email,
  skus       shop.sku_list,
  qtys       int[],
  search     tsvector,
  doc        jsonb,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TRIGGER touch BEFORE UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.touch();

CREATE TABLE shop.events (
  id         bigint NOT NULL,
  day        date NOT NULL,
  kind       shop.order_status,
  tags       text[],
  payload    jsonb,
  body       tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(payload ->> 'text', ''))) STORED,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (id, day)
) PARTITION BY RANGE (day);
CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TRIGGER touch BEFORE UPDATE ON shop.events FOR EACH ROW EXECUTE FUNCTION shop.touch();

INSERT INTO shop.orders (status, history, total, email, skus, qtys, search, doc)
SELECT (ARRAY['new', 'paid', 'shipped', 'it''s, "odd"']::shop.order_status[])[1 + g % 4],
       CASE g % 3 WHEN 0 THEN '{}' WHEN 1 THEN ARRAY['new', NULL, 'it''s, "odd"']::shop.order_status[] END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE g * 10.05 END,
       'User' || g || '@Example.com',
       CASE g % 4 WHEN 0 THEN ARRAY['a,b', 'c"d', NULL, ''] WHEN 1 THEN '{}' WHEN 2 THEN ARRAY['{x}', 'NULL'] END,
       ARRAY[g, NULL, -g],
       to_tsvector('english', 'The ' || g || ' quick brown foxes jumped'),
       jsonb_build_object('n', g, 'big', 123456789012345678901 + g, 'tags', jsonb_build_array('x', g))
FROM generate_series(1, 45) g;

INSERT INTO shop.events (id, day, kind, tags, payload)
SELECT g, DATE '2024-02-29' + g * 7, (ARRAY['new', 'paid']::shop.order_status[])[1 + g % 2], ARRAY['t' || g, NULL], jsonb_build_object('text', 'event number ' || g || ' happened')
FROM generate_series(1, 80) g;`;

describe('a schema with enums, domains, arrays, tsvector and a partitioned table', () => {
  let pgs: TestPostgres;
  let url: string;
  let ws: Workspace;

  before(async () => {
    pgs = await startPostgres();
    url = await pgs.createDatabase('rich');
    await pgs.query(url, SCHEMA);
    ws = createWorkspace();
    ws.writePipeline('orders', 'source:\n  table: shop.orders\n  primary_key: id\ntarget:\n  table: orders\nbatch_size: 10\n');
    ws.writePipeline('events', 'source:\n  table: shop.events\n  primary_key: [id, day]\ntarget:\n  table: events\nbatch_size: 25\n');
  });
  after(async () => {
    ws?.cleanup();
    await pgs?.stop();
  });

  const assertSynced = async () => {
    for (const [pgTable, table, key] of [
      ['shop.orders', 'orders', ['id']],
      ['shop.events', 'events', ['id', 'day']],
    ] as const) {
      const diff = await compareTables(url, pgTable, ws.duckdbPath, table, [...key]);
      assert.deepEqual(diff.mismatches, [], `${table} differs`);
      assert.equal(diff.duckRows, diff.pgRows, `${table} rows`);
    }
  };

  test('syncs with plain pipeline files, no type configuration', async () => {
    await runOnce(ws, url);
    await assertSynced();
    const types = await withDuckDbFile(ws.duckdbPath, (s) =>
      s.all(
        `SELECT table_name || '.' || column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name IN ('orders', 'events') ORDER BY table_name, ordinal_position`,
      ),
    );
    assert.deepEqual(Object.fromEntries(types.map((r) => [r.c, r.t])), {
      'events.id': 'BIGINT',
      'events.day': 'DATE',
      'events.kind': 'VARCHAR',
      'events.tags': 'VARCHAR[]',
      'events.payload': 'JSON',
      'events.body': 'VARCHAR',
      'events.updated_at': 'TIMESTAMP WITH TIME ZONE',
      'orders.id': 'BIGINT',
      'orders.status': 'VARCHAR',
      'orders.history': 'VARCHAR[]',
      'orders.total': 'DECIMAL(12,2)',
      'orders.email': 'VARCHAR',
      'orders.skus': 'VARCHAR[]',
      'orders.qtys': 'INTEGER[]',
      'orders.search': 'VARCHAR',
      'orders.doc': 'JSON',
      'orders.updated_at': 'TIMESTAMP WITH TIME ZONE',
    });
    const big = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT CAST(doc -> 'big' AS VARCHAR) AS big FROM orders WHERE id = 1`));
    assert.equal(big[0].big, '123456789012345678902', 'a 21-digit jsonb integer keeps every digit');
  });

  test('a new partition, changes, a new enum label and a column added with a DEFAULT: synced again', async () => {
    await pgs.query(
      url,
      `CREATE TABLE shop.events_2026 PARTITION OF shop.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
       ALTER TYPE shop.order_status ADD VALUE 'refunded';`,
    );
    await pgs.query(
      url,
      `INSERT INTO shop.events (id, day, kind, payload) VALUES (1000, '2026-06-30', 'refunded', '{"text": "late"}');
       UPDATE shop.events SET tags = ARRAY['moved, "quoted"'] WHERE id % 10 = 0;
       UPDATE shop.orders SET status = 'refunded', skus = NULL WHERE id % 7 = 0;
       ALTER TABLE shop.events ADD COLUMN source text NOT NULL DEFAULT 'import';`,
    );
    await runOnce(ws, url);
    await assertSynced();
    const n = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT count(*) FILTER (source = 'import')::INT AS n FROM events`));
    assert.equal(n[0].n, 81);
  });
});
