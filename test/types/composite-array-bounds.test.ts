/**
 * An array of a composite type whose lower bound is not 1 cannot keep its bound in DuckDB's JSON:
 * it stops the pipeline, naming the column, as an int[] of the same shape does (README, types);
 * never a silent sync without the bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';

const SQL = `
CREATE TYPE inventory_item AS (name text, supplier_id int, price numeric);
CREATE TABLE stock (id int PRIMARY KEY, items inventory_item[], updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour');
CREATE INDEX ON stock (updated_at, id);
INSERT INTO stock (id, items) VALUES (1, '{"(a,1,1.5)"}'), (2, '[0:1]={"(a,1,1.5)","(b,2,2.5)"}');
CREATE TABLE ints (id int PRIMARY KEY, nums int[], updated_at timestamptz NOT NULL DEFAULT clock_timestamp() - interval '1 hour');
CREATE INDEX ON ints (updated_at, id);
INSERT INTO ints (id, nums) VALUES (1, '{1}'), (2, '[0:1]={1,2}');`;

describe('composite arrays with a lower bound other than 1', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('stop the pipeline as int[] does; once the bound is 1 the array syncs', async () => {
    const url = await pgs.createDatabase('bounds');
    await pgs.query(url, SQL);
    const ws = createWorkspace();
    try {
      ws.writePipeline('stock', 'source:\n  table: public.stock\n  primary_key: id\ntarget:\n  table: stock\n');
      ws.writePipeline('ints', 'source:\n  table: public.ints\n  primary_key: id\ntarget:\n  table: ints\n');
      let res = await runCli(['run', '--once'], ws.env(url));
      assert.equal(res.code, 4, res.stdout + res.stderr);
      assert.match(res.stdout, /✗ ints: .*column "nums": array lower bound is not 1 \(the bound would be lost\): 0/);
      assert.match(res.stdout, /✗ stock: .*column "items": array lower bound is not 1 \(the bound would be lost\): 0/);
      const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
      try {
        assert.equal(store.get('stock')?.position ?? null, null, 'checkpoint unmoved');
      } finally {
        store.close();
      }
      const count = () => withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT count(*)::INT AS n FROM stock`), { readOnly: true });
      assert.deepEqual(await count(), [{ n: 0 }], 'nothing of the batch loaded');

      await pgs.query(url, `UPDATE stock SET items = '{"(a,1,1.5)","(b,2,2.5)"}', updated_at = clock_timestamp() WHERE id = 2`);
      res = await runCli(['run', '--once', '--only', 'stock'], ws.env(url));
      assert.equal(res.code, 0, res.stdout + res.stderr);
      const rows = await withDuckDbFile(ws.duckdbPath, (s) => s.all(`SELECT id, items::VARCHAR AS items FROM stock ORDER BY id`), { readOnly: true });
      assert.deepEqual(rows, [
        { id: 1, items: '[{"name":"a","supplier_id":1,"price":1.5}]' },
        { id: 2, items: '[{"name":"a","supplier_id":1,"price":1.5},{"name":"b","supplier_id":2,"price":2.5}]' },
      ]);
    } finally {
      ws.cleanup();
    }
  });
});
