/**
 * Drift that must not be applied: an incompatible change stops that pipeline alone, with a message
 * naming the change and the recovery command, its checkpoint and its DuckDB table untouched, while
 * another pipeline in the same run goes on. And the two stricter policies: freeze and fail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { assertOk, driftCase, ITEMS_SQL, type DriftCase } from './drift-fixture.js';

const OTHER_SQL = `
CREATE TABLE other (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TRIGGER touch BEFORE UPDATE ON other FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO other (id, v) SELECT g, 'v' || g FROM generate_series(1, 25) g;`;

async function withOther(pgs: TestPostgres, policy?: string): Promise<DriftCase> {
  const c = await driftCase(pgs, { setup: ITEMS_SQL + OTHER_SQL, policy });
  c.ws.writePipeline('other', 'source:\n  table: public.other\n  primary_key: id\ntarget:\n  table: other\nbatch_size: 10\n');
  return c;
}

const shape = (c: DriftCase) =>
  c.duck(`SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position`);

describe('incompatible drift and the strict policies', () => {
  let pgs: TestPostgres;
  before(async () => {
    pgs = await startPostgres();
  });
  after(async () => {
    await pgs?.stop();
  });

  test('text → integer stops that pipeline alone: message names the change and the recovery; checkpoint and table unmoved', async () => {
    const c = await withOther(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:2', ['--only', 'items']);
      const before = c.checkpoint();
      const shapeBefore = await shape(c);
      await c.sql(`ALTER TABLE items ALTER COLUMN code TYPE integer USING length(code); UPDATE other SET v = 'changed' WHERE id = 3`);
      for (let i = 0; i < 2; i++) {
        const res = await c.run();
        assert.equal(res.code, 4, 'incompatible drift needs action (exit 4)');
        assert.match(
          res.stdout,
          /✗ items: .*column "code" changed type \(character varying\(10\) → integer\): items has VARCHAR, which cannot become INTEGER.*checkpoint did not move.*pgduck reset items --drop-target/,
        );
        assert.match(res.stdout, /✓ other: /);
        assert.deepEqual(c.checkpoint()?.position, before?.position, 'checkpoint unmoved');
        assert.equal(c.checkpoint()?.rowsTotal, before?.rowsTotal);
        assert.deepEqual(await shape(c), shapeBefore, 'DuckDB table untouched');
      }
      await c.assertSynced('other');
      assert.equal(c.events().filter((e) => e.kind === 'refused').length, 1, 'a repeated refusal is recorded once');
      const status = JSON.parse((await c.cli(['status', '--json'])).stdout);
      assert.ok(status.schemaEvents.some((e: { kind: string; detail: string }) => e.kind === 'refused' && /"code"/.test(e.detail)));
      assert.equal(status.checkpoints.find((p: { pipeline: string }) => p.pipeline === 'items').lastStatus, 'failed');

      // The recovery the message names.
      assertOk(await c.cli(['reset', 'items', '--drop-target']));
      await c.sync();
      await c.assertSynced();
    } finally {
      c.cleanup();
    }
  });

  test('a changed primary key stops the pipeline; editing the file alone is refused too; reset --drop-target recovers', async () => {
    const c = await withOther(pgs);
    try {
      await c.runUntilKilled('after-checkpoint:3', ['--only', 'items']);
      const before = c.checkpoint();
      await c.sql(
        `ALTER TABLE items DROP CONSTRAINT items_pkey; UPDATE items SET code = 'dup' WHERE id IN (1, 2); ALTER TABLE items ADD PRIMARY KEY (id, code)`,
      );
      let res = await c.run();
      assert.equal(res.code, 4, 'a refused source needs action (exit 4)');
      // The run's guard sees it first: the declared key (id) is no longer covered by a unique index.
      assert.match(
        res.stdout,
        /✗ items: .*\("id"\) is not known to be unique: .*the table's primary key is \("id", "code"\): set source\.primary_key to \[id, code\]/,
      );
      assert.match(res.stdout, /✓ other: /);
      assert.deepEqual(c.checkpoint()?.position, before?.position);

      c.ws.writePipeline('items', 'source:\n  table: public.items\n  primary_key: [id, code]\ntarget:\n  table: items\nbatch_size: 10\n');
      res = await c.run(['--only', 'items']);
      assert.equal(res.code, 4, 'incompatible drift needs action (exit 4)');
      assert.match(res.stdout, /✗ items: .*the primary key changed.*pgduck reset items --drop-target/);
      assert.deepEqual(c.checkpoint()?.position, before?.position);

      assertOk(await c.cli(['reset', 'items', '--drop-target']));
      await c.sync();
      await c.assertSynced('items', ['id', 'code']);
    } finally {
      c.cleanup();
    }
  });

  test('freeze: new columns ignored (reported once), renames not applied, widening refused; rows keep syncing', async () => {
    const c = await driftCase(pgs, { policy: 'freeze' });
    try {
      await c.runUntilKilled('after-checkpoint:2');
      const shapeBefore = await shape(c);
      await c.sql(`ALTER TABLE items ADD COLUMN region text DEFAULT 'eu'; ALTER TABLE items RENAME COLUMN flag TO badge`);
      await c.sync();
      await c.sql(`UPDATE items SET qty = 1000 WHERE id = 1`);
      await c.sync();
      assert.deepEqual(await shape(c), shapeBefore, 'the target keeps its columns');
      const rows = await c.duck(`SELECT count(*)::INT AS n, count(*) FILTER (qty = 1000)::INT AS q FROM items`);
      assert.deepEqual(rows[0], { n: 60, q: 1 });
      const ignored = c
        .events()
        .filter((e) => e.kind === 'ignored')
        .map((e) => e.detail);
      assert.equal(ignored.length, 2, ignored.join('\n'));
      assert.ok(ignored.some((d) => /new source column "region" \(text\) not added to items \(schema_evolution: freeze\)/.test(d)));
      assert.ok(ignored.some((d) => /renamed \("flag" → "badge"\)/.test(d)));
      assert.equal(c.backfills().length, 0);

      await c.sql(`ALTER TABLE items ALTER COLUMN qty TYPE bigint; UPDATE items SET qty = 1099511627776 WHERE id = 2`);
      const before = c.checkpoint();
      const res = await c.run();
      assert.equal(res.code, 4, 'incompatible drift needs action (exit 4)');
      assert.match(
        res.stdout,
        /column "qty" changed type \(integer → bigint\): items has INTEGER, which cannot become BIGINT \(schema_evolution: freeze keeps the target's types\).*pgduck reset items --drop-target/,
      );
      assert.deepEqual(c.checkpoint()?.position, before?.position);
    } finally {
      c.cleanup();
    }
  });

  test('freeze: a narrowed source type still loads (the target holds every value)', async () => {
    const c = await driftCase(pgs, { policy: 'freeze' });
    try {
      await c.sync();
      await c.sql(`ALTER TABLE items ALTER COLUMN qty TYPE smallint; UPDATE items SET qty = -5 WHERE id = 9`);
      await c.sync();
      await c.assertSynced();
    } finally {
      c.cleanup();
    }
  });

  test('fail: any drift stops the pipeline, nothing altered, checkpoint unmoved', async () => {
    const c = await withOther(pgs, 'fail');
    try {
      await c.runUntilKilled('after-checkpoint:2', ['--only', 'items']);
      const before = c.checkpoint();
      const shapeBefore = await shape(c);
      await c.sql(`ALTER TABLE items ADD COLUMN region text DEFAULT 'eu'`);
      const res = await c.run();
      assert.equal(res.code, 4, 'incompatible drift needs action (exit 4)');
      assert.match(
        res.stdout,
        /✗ items: .*new source column "region" \(text\) \(schema_evolution: fail stops on any drift\).*pgduck reset items --drop-target/,
      );
      assert.match(res.stdout, /✓ other: /);
      assert.deepEqual(c.checkpoint()?.position, before?.position);
      assert.equal(c.checkpoint()?.rowsTotal, before?.rowsTotal);
      assert.deepEqual(await shape(c), shapeBefore);
      assert.equal(c.backfills().length, 0);
    } finally {
      c.cleanup();
    }
  });
});
