/**
 * SOURCE_TABLE_MISSING from one place (src/stages/source-table-missing.ts), without a database: a
 * 42P01 naming the source relation (qualified or not, or in words that name nothing readable) becomes
 * the needs-action error with the table and the fix; a 42P01 on another relation and any other
 * failure pass unchanged. The drop itself, on real Postgres: test/drift/table-dropped.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readingSource, sourceTableMissing, isSourceTableMissing } from '../../src/stages/source-table-missing.js';
import { classifyFailure } from '../../src/runner/classify-failure.js';
import { StageError } from '../../src/runner/stage-error.js';
import { PgduckError } from '../../src/errors/pgduck-error.js';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
const spec = {
  name: 'orders',
  file: 'pipelines/orders.yml',
  source: { schema: 'sales', table: 'Order Items' },
  target: { schema: 'main', table: 'order_items' },
} as Parameters<typeof sourceTableMissing>[0];

test('a 42P01 on the source relation is SOURCE_TABLE_MISSING naming the table and the fix; others pass unchanged', async () => {
  for (const said of ['relation "sales.Order Items" does not exist', 'relation "Order Items" does not exist', 'la relación «sales.Order Items» no existe']) {
    assert.equal(isSourceTableMissing(spec, coded(said, '42P01')), true, said);
    const err = await readingSource(spec, () => Promise.reject(coded(said, '42P01'))).catch((e: unknown) => e);
    assert.ok(err instanceof PgduckError);
    assert.deepEqual([err.kind, err.code], ['needs-action', 'SOURCE_TABLE_MISSING']);
    assert.match(err.message, /^source table sales\.Order Items does not exist \(dropped or renamed, or this role cannot see it\)/);
    assert.match(err.fix ?? '', /^restore sales\.Order Items or correct source\.table in pipelines\/orders\.yml; the next run resumes from the checkpoint/);
    assert.match(err.fix ?? '', /remove pipelines\/orders\.yml: the DuckDB table and its history stay$/);
  }
  const other = coded('relation "sales.customers" does not exist', '42P01');
  assert.equal(await readingSource(spec, () => Promise.reject(other)).catch((e: unknown) => e), other);
  const lost = coded('terminating connection due to administrator command', '57P01');
  assert.equal(await readingSource(spec, () => Promise.reject(lost)).catch((e: unknown) => e), lost);
  assert.equal(await readingSource(spec, () => Promise.resolve(7)), 7);
});

test('wrapped by the runner it stays needs-action and says where the checkpoint stayed', () => {
  const failure = new StageError(
    { pipeline: 'orders', stage: 'extract', batch: 3, resumeFrom: { cursor: '2026-01-05 10:31:12+00', key: ['200'] }, committed: { batches: 2, rows: 200 } },
    { cause: sourceTableMissing(spec) },
  );
  const c = classifyFailure(failure);
  assert.deepEqual([c.kind, c.code], ['needs-action', 'SOURCE_TABLE_MISSING']);
  assert.match(
    c.message,
    /^pipeline orders failed in extract \(batch 3\): source table sales\.Order Items does not exist .* — 2 batches of this run committed \(200 rows\); checkpoint not advanced past them; next run re-reads from 2026-01-05 10:31:12\+00 \/ 200$/,
  );
});
