import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cron } from 'croner';
import { cronZone } from '../../src/config/cron-zone.js';

test('UTC schedules fire at the same instants given as an offset of 0 as given as the zone UTC', () => {
  assert.deepEqual(cronZone('UTC'), { utcOffset: 0 });
  const from = new Date('2026-01-01T00:00:00Z');
  for (const pattern of ['* * * * * *', '*/30 * * * * *', '0 30 2 * * *', '0 0 0 29 2 *', '15 10 * * 1-5', '0 0 1 * *', '0 0 3 L * *']) {
    const asOffset = new Cron(pattern, { ...cronZone('UTC'), paused: true }).nextRuns(60, from);
    const asZone = new Cron(pattern, { timezone: 'UTC', paused: true }).nextRuns(60, from);
    assert.equal(asOffset.length, 60, pattern);
    assert.deepEqual(
      asOffset.map((d) => d.toISOString()),
      asZone.map((d) => d.toISOString()),
      pattern,
    );
  }
});

test('any other zone is passed to croner as a zone (DST applies)', () => {
  assert.deepEqual(cronZone('Europe/Berlin'), { timezone: 'Europe/Berlin' });
  // 02:30 does not exist in Berlin on 2026-03-29 (clocks go 02:00 → 03:00): croner fires at 03:00
  // CEST; the offset moves from +1 to +2 hours, which no fixed offset gives.
  const runs = new Cron('0 30 2 * * *', { ...cronZone('Europe/Berlin'), paused: true }).nextRuns(3, new Date('2026-03-28T12:00:00Z'));
  assert.deepEqual(
    runs.map((d) => d.toISOString()),
    ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z'],
  );
});
