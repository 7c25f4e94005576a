/**
 * pgduck_lag_seconds by the cursor column's type (src/runner/service-metrics.ts with
 * src/runner/cursor-time.ts), without a database: timestamptz, timestamp in source.cursor_timezone
 * and date cursors have a series; a timestamp cursor without a zone has none and is warned about
 * once however often it is scraped; an integer cursor has none. The types come from the batches'
 * catalog read, or from the state store's record before the first batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServiceMetrics } from '../../src/runner/service-metrics.js';
import { PipelineHealth } from '../../src/runner/pipeline-health.js';
import { DEFAULT_RETRY_POLICY } from '../../src/runner/retry-policy.js';
import type { PipelineView } from '../../src/runner/scheduler.js';
import { newBatch } from '../../src/stages/stage.js';
import type { PgColumn } from '../../src/schema/column.js';
import { parsePrometheusText, select, sampleValue } from '../support/prometheus-text.js';

const NOW = Date.parse('2026-07-01T12:00:00Z');
const health = new PipelineHealth(DEFAULT_RETRY_POLICY).snapshot;
const view = (pipeline: string, column: string, timezone: string | null): PipelineView => ({
  pipeline,
  health,
  nextRun: null,
  nextReconcile: null,
  cursor: { column, timezone },
});
const column = (name: string, baseType: string) => ({ name, baseType }) as PgColumn;

function applied(cursor: string, columns: PgColumn[]) {
  const b = newBatch(1, { phase: 'cursor', from: null });
  b.rowCount = 10;
  b.last = { cursor, key: ['1'] };
  b.sourceColumns = columns;
  return b;
}

test('lag per cursor clock; none for an unzoned timestamp (one warning) nor for an integer cursor', async () => {
  const warnings: string[] = [];
  const views = [
    view('tz', 'updated_at', null),
    view('berlin', 'changed', 'Europe/Berlin'),
    view('daily', 'day', 'America/New_York'),
    view('unzoned', 'changed', null),
    view('versioned', 'version', null),
    view('seeded', 'changed', 'UTC'),
  ];
  const m = createServiceMetrics({
    view: () => views,
    healthy: () => true,
    now: () => NOW,
    warn: (pipeline, message) => warnings.push(`${pipeline}: ${message}`),
    // Before any batch here: the checkpoint and the types the last drift check recorded.
    seed: (p) =>
      p === 'seeded'
        ? { cursor: '2026-07-01 11:00:00', lastSuccessMs: null, columnTypes: { id: 'integer', changed: 'timestamp(3) without time zone' } }
        : { cursor: null, lastSuccessMs: null },
  });
  m.track();
  m.onBatch('tz', applied('2026-07-01 11:59:30.5+00', [column('updated_at', 'timestamp with time zone')]));
  m.onBatch('berlin', applied('2026-07-01 13:58:00', [column('changed', 'timestamp without time zone')]));
  m.onBatch('daily', applied('2026-06-30', [column('day', 'date')]));
  m.onBatch('unzoned', applied('2026-07-01 11:00:00', [column('changed', 'timestamp without time zone')]));
  m.onBatch('versioned', applied('12345', [column('version', 'bigint')]));
  for (let i = 0; i < 3; i++) {
    const e = parsePrometheusText(await m.render());
    assert.equal(sampleValue(e, 'pgduck_lag_seconds', { pipeline: 'tz' }), 29.5);
    assert.equal(sampleValue(e, 'pgduck_lag_seconds', { pipeline: 'berlin' }), 120, '13:58 CEST is 11:58 UTC');
    assert.equal(sampleValue(e, 'pgduck_lag_seconds', { pipeline: 'daily' }), 32 * 3600, 'midnight June 30 in New York is 04:00 UTC');
    assert.equal(sampleValue(e, 'pgduck_lag_seconds', { pipeline: 'seeded' }), 3600);
    assert.equal(select(e, 'pgduck_lag_seconds', { pipeline: 'unzoned' }).length, 0);
    assert.equal(select(e, 'pgduck_lag_seconds', { pipeline: 'versioned' }).length, 0);
  }
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0],
    /^unzoned: no pgduck_lag_seconds for unzoned: cursor column "changed" is timestamp without time zone .* source\.cursor_timezone is not set/,
  );
});
