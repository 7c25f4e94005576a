/**
 * A checkpoint's cursor as a time (src/runner/cursor-time.ts), without a database: each clock by the
 * column's type, wall-clock cursors in source.cursor_timezone, the DST gap and overlap as Postgres's
 * AT TIME ZONE reads them (checked against Postgres itself in test/service/lag-seconds.test.ts), and
 * no time for integers, ±infinity, BC or an unknown zone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cursorClockOf, cursorTimeMs, wallClockToInstant } from '../../src/runner/cursor-time.js';

const at = (iso: string) => Date.parse(iso);

test('the clock of a cursor column by its base type', () => {
  assert.equal(cursorClockOf('timestamp with time zone'), 'timestamptz');
  assert.equal(cursorClockOf('timestamp(3) with time zone'), 'timestamptz');
  assert.equal(cursorClockOf('timestamptz'), 'timestamptz');
  assert.equal(cursorClockOf('timestamp without time zone'), 'timestamp');
  assert.equal(cursorClockOf('timestamp(0) without time zone'), 'timestamp');
  assert.equal(cursorClockOf('date'), 'date');
  for (const other of ['bigint', 'integer', 'numeric(20,0)', 'text', 'timestamp with time zone[]', 'time without time zone', 'interval']) {
    assert.equal(cursorClockOf(other), null, other);
  }
});

test('timestamptz: the printed offset; timestamp and date: the wall clock of cursor_timezone', () => {
  assert.equal(cursorTimeMs('2026-03-01 11:59:00.123456+00', 'timestamptz', null), at('2026-03-01T11:59:00.123Z'));
  assert.equal(cursorTimeMs('2026-03-01 17:29:00+05:30', 'timestamptz', 'America/New_York'), at('2026-03-01T11:59:00Z'), 'the zone is not used');
  assert.equal(cursorTimeMs('2026-03-01 11:59:00.5', 'timestamp', 'UTC'), at('2026-03-01T11:59:00.500Z'));
  assert.equal(cursorTimeMs('2026-07-01 12:00:00', 'timestamp', 'Europe/Berlin'), at('2026-07-01T10:00:00Z'));
  assert.equal(cursorTimeMs('2026-01-15 12:00:00', 'timestamp', 'Europe/Berlin'), at('2026-01-15T11:00:00Z'));
  assert.equal(cursorTimeMs('2026-07-01', 'date', 'America/New_York'), at('2026-07-01T04:00:00Z'));
  assert.equal(cursorTimeMs('0099-06-01 00:00:00', 'timestamp', 'UTC'), at('0099-06-01T00:00:00Z'), 'year 99 is not 1999');
  assert.equal(cursorTimeMs('12026-01-01', 'date', 'UTC'), Date.UTC(12026, 0, 1));
});

test('no time: an unknown zone for wall-clock values, integers, ±infinity, BC, a text of another clock', () => {
  assert.equal(cursorTimeMs('2026-03-01 11:59:00', 'timestamp', null), null);
  assert.equal(cursorTimeMs('2026-03-01', 'date', null), null);
  for (const clock of ['timestamptz', 'timestamp', 'date'] as const) {
    for (const text of ['42', 'infinity', '-infinity', '2026-03-01 11:59:00 BC', '2026-03-01 BC', '2026-03-01 11:59:00+00 BC', '']) {
      assert.equal(cursorTimeMs(text, clock, 'UTC'), null, `${clock} ${JSON.stringify(text)}`);
    }
  }
  assert.equal(cursorTimeMs('2026-03-01 11:59:00', 'timestamptz', 'UTC'), null, 'no offset');
  assert.equal(cursorTimeMs('2026-03-01 11:59:00+00', 'timestamp', 'UTC'), null, 'an offset');
  assert.equal(cursorTimeMs('2026-03-01 11:59:00', 'date', 'UTC'), null, 'a time');
  assert.equal(cursorTimeMs('294276-12-31 23:59:59+00', 'timestamptz', null), null, 'past what a JS Date holds');
});

test('DST: a skipped wall-clock time takes the offset before the change; a repeated one the later instant (as Postgres AT TIME ZONE)', () => {
  const wall = (s: string) => Date.parse(`${s}Z`);
  // Europe/Berlin 2026: 02:00 → 03:00 on March 29, 03:00 → 02:00 on October 25.
  assert.equal(wallClockToInstant(wall('2026-03-29T02:30:00'), 'Europe/Berlin'), at('2026-03-29T01:30:00Z'));
  assert.equal(wallClockToInstant(wall('2026-03-29T03:00:00'), 'Europe/Berlin'), at('2026-03-29T01:00:00Z'));
  assert.equal(wallClockToInstant(wall('2026-03-29T01:59:59'), 'Europe/Berlin'), at('2026-03-29T00:59:59Z'));
  assert.equal(wallClockToInstant(wall('2026-10-25T02:30:00'), 'Europe/Berlin'), at('2026-10-25T01:30:00Z'));
  assert.equal(wallClockToInstant(wall('2026-10-25T01:59:59'), 'Europe/Berlin'), at('2026-10-24T23:59:59Z'));
  // America/New_York 2026: 02:00 → 03:00 on March 8, 02:00 → 01:00 on November 1.
  assert.equal(wallClockToInstant(wall('2026-03-08T02:30:00'), 'America/New_York'), at('2026-03-08T07:30:00Z'));
  assert.equal(wallClockToInstant(wall('2026-11-01T01:30:00'), 'America/New_York'), at('2026-11-01T06:30:00Z'));
  // Australia/Lord_Howe: a 30-minute change.
  assert.equal(wallClockToInstant(wall('2026-04-05T01:45:00'), 'Australia/Lord_Howe'), at('2026-04-04T15:15:00Z'));
});
