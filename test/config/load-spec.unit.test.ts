import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { useRepoRoot } from './capture-validate.js';

useRepoRoot();
const good = 'test/fixtures/config/good';

test('a minimal file gets every default, a one-column primaryKey list and the public schema', () => {
  const { specs, problems } = loadPipelines([`${good}/minimal.yml`], {});
  assert.deepEqual(problems, []);
  assert.deepEqual(specs, [
    {
      name: 'minimal',
      file: `${good}/minimal.yml`,
      source: {
        schema: 'public',
        table: 'customers',
        primaryKey: ['customer_id'],
        cursor: 'updated_at',
        softDeleteMode: 'keep',
        nullCursor: 'include',
        onRecreate: 'stop',
        hardDeleteMode: 'remove',
      },
      target: { schema: 'main', table: 'customers' },
      batchSize: 10_000,
      schedule: '*/30 * * * * *',
      timezone: 'UTC',
      enabled: true,
      schemaEvolution: 'evolve',
      horizon: { marginMs: 1000, lookbackSeconds: 300 },
    } satisfies PipelineSpec,
  ]);
});

test('the subscriptions example: schema split from table, tombstone kept', () => {
  const [spec] = loadPipelines([`${good}/subscriptions.yml`], {}).specs;
  assert.deepEqual(spec.source, {
    schema: 'public',
    table: 'subscriptions',
    primaryKey: ['id'],
    cursor: 'updated_at',
    softDelete: 'deleted_at',
    softDeleteMode: 'keep',
    nullCursor: 'include',
    onRecreate: 'stop',
    hardDeleteMode: 'remove',
  });
  assert.equal(spec.batchSize, 5000);
  assert.equal(spec.target.duckdbPath, undefined);
});

test('composite key, quoted dotted schema, environment and partial horizon', () => {
  const { specs, problems } = loadPipelines([`${good}/line_items.yaml`], { PGDUCK_TEST_DB_URL: 'postgres://u:p@h/db', PGDUCK_TEST_BATCH: '1234' });
  assert.deepEqual(problems, []);
  assert.deepEqual(specs[0], {
    name: 'line_items',
    file: `${good}/line_items.yaml`,
    source: {
      schema: 'my.schema',
      table: 'line items',
      primaryKey: ['order_id', 'line_no'],
      cursor: 'version',
      softDeleteMode: 'keep',
      nullCursor: 'include',
      onRecreate: 'stop',
      hardDeleteMode: 'remove',
      connection: 'postgres://u:p@h/db',
    },
    target: { schema: 'main', table: 'line_items', duckdbPath: 'lake/shop.duckdb' },
    batchSize: 1234,
    schedule: '30 2 * * *',
    timezone: 'Europe/Berlin',
    enabled: false,
    schemaEvolution: 'freeze',
    horizon: { marginMs: 500, lookbackSeconds: 300 },
  } satisfies PipelineSpec);
});

test('a directory loads every file in name order; a file with problems yields no spec', () => {
  const { specs, problems, files } = loadPipelines([good], { PGDUCK_TEST_DB_URL: 'x' });
  assert.deepEqual(problems, []);
  assert.deepEqual(files, [`${good}/line_items.yaml`, `${good}/minimal.yml`, `${good}/subscriptions.yml`]);
  assert.deepEqual(
    specs.map((s) => s.name),
    ['line_items', 'minimal', 'subscriptions'],
  );
  const withProblem = loadPipelines([good], {});
  assert.equal(withProblem.problems.length, 1);
  assert.deepEqual(
    withProblem.specs.map((s) => s.name),
    ['minimal', 'subscriptions'],
  );
});

test('the same file named twice is checked once; a missing path is a problem', () => {
  const { files, problems } = loadPipelines([good, `${good}/minimal.yml`, 'test/fixtures/config/nope'], { PGDUCK_TEST_DB_URL: 'x' });
  assert.equal(files.length, 3);
  assert.deepEqual(problems, [{ file: 'test/fixtures/config/nope', line: 1, col: 1, path: '', message: 'does not exist (no such file or directory)' }]);
});

test('a cursor that is also the primary key is allowed', () => {
  const { problems } = loadPipelines(['test/fixtures/config/broken/soft-delete-is-cursor.yml'], {});
  assert.equal(problems.length, 1, 'soft_delete = cursor is the only mistake there');
});
