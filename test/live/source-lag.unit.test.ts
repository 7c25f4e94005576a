/**
 * The lag query of `status --connect` without a database: it counts with the extract stage's keyset
 * predicate and the key types, caps the count, and only timestamp and date cursors get seconds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { buildLagSql, formatLag, ROWS_CAP } from '../../src/live/source-lag.js';

const spec = { source: { schema: 'app', table: 'order lines', cursor: 'updated_at', primaryKey: ['order_id', 'line'] } } as unknown as PipelineSpec;
const keys = [{ declaredType: 'bigint' }, { declaredType: 'integer' }];

describe('status --connect lag query', () => {
  test('after a checkpoint: the keyset predicate with typed parameters, counted up to the cap', () => {
    const q = buildLagSql(spec, { declaredType: 'timestamp with time zone' }, keys, { cursor: '2026-01-01 00:00:00+00', key: ['7', '2'] });
    assert.deepEqual(q.values, ['2026-01-01 00:00:00+00', '7', '2']);
    assert.ok(
      q.sql.includes(
        `FROM "app"."order lines" WHERE ("updated_at", "order_id", "line") > ($1::timestamp with time zone, $2::bigint, $3::integer) LIMIT ${ROWS_CAP + 1}`,
      ),
      q.sql,
    );
    assert.ok(q.sql.includes('extract(epoch FROM (n.newest - $1::timestamp with time zone))'), q.sql);
  });

  test('never synced: every row with a cursor is behind, no seconds', () => {
    const q = buildLagSql(spec, { declaredType: 'timestamp without time zone' }, keys, null);
    assert.deepEqual(q.values, []);
    assert.ok(q.sql.includes('WHERE "updated_at" IS NOT NULL'), q.sql);
    assert.ok(q.sql.includes('NULL AS seconds'), q.sql);
  });

  test('an integer cursor has no seconds; a date cursor counts days', () => {
    assert.ok(buildLagSql(spec, { declaredType: 'bigint' }, keys, { cursor: '5', key: ['1', '1'] }).sql.includes('NULL AS seconds'));
    assert.ok(buildLagSql(spec, { declaredType: 'date' }, keys, { cursor: '2026-01-01', key: ['1', '1'] }).sql.includes('(n.newest - $1::date) * 86400'));
  });

  test('the text line', () => {
    assert.equal(formatLag({ rowsBehind: 0, capped: false, newestCursor: 'x', secondsBehind: 0 }), 'caught up with the source');
    assert.equal(formatLag({ rowsBehind: 1, capped: false, newestCursor: 'x', secondsBehind: 4.25 }), '1 row behind, 4.3 s behind the newest cursor');
    assert.equal(formatLag({ rowsBehind: ROWS_CAP, capped: true, newestCursor: 'x', secondsBehind: null }), 'at least 1,000,000 rows behind');
  });
});
