/**
 * The value a `timestamp` cursor is compared with (wallClockBoundSql in src/postgres/horizon.ts),
 * evaluated by Postgres for fixed horizon instants, where the runner can only use now(). The one
 * property that makes the horizon commit-safe: the bound is never above the wall-clock time of any
 * later instant, so a row written after the horizon never compares as safe. That must hold across
 * the autumn change (the clock goes back and an hour repeats), in zones that move 2 h or 30 min, and
 * for every zone at once when source.cursor_timezone is not set.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { wallClockBoundSql } from '../../src/postgres/horizon.js';

describe('wall-clock bound of the horizon for a timestamp cursor', () => {
  let server: TestPostgres;
  let url: string;

  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase('wall_clock');
  });
  after(async () => {
    await server?.stop();
  });

  /**
   * Horizons every 5 min over [from, to): how many bounds exceed a later wall time, how many lag, and
   * by how much at most. Instants carry explicit offsets, so the session's own zone plays no part.
   */
  const sweep = async (zone: string, from: string, to: string) => {
    const res = await server.query(
      url,
      `WITH b AS (
         SELECT h, (${wallClockBoundSql('h', '$1::text')}) AS bound, h AT TIME ZONE $1::text AS wall
         FROM generate_series($2::timestamptz, $3::timestamptz - interval '5 minutes', interval '5 minutes') AS h
       )
       SELECT count(*) FILTER (WHERE bound > (SELECT min(t AT TIME ZONE $1::text) FROM generate_series(h, h + interval '8 hours', interval '1 minute') AS t))::int AS unsafe,
              count(*) FILTER (WHERE bound <> wall)::int AS lagging,
              coalesce(max(wall - bound), interval '0')::text AS max_lag
       FROM b`,
      [zone, from, to],
    );
    return res.rows[0] as { unsafe: number; lagging: number; max_lag: string };
  };

  test('America/New_York: exact, except in the 3 h before the autumn change, where it waits out the repeated hour', async () => {
    // 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST.
    assert.deepEqual(await sweep('America/New_York', '2026-10-31 12:00+00', '2026-11-01 12:00+00'), { unsafe: 0, lagging: 36, max_lag: '01:00:00' });
    // 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT; the clock jumps forward, nothing to wait for.
    assert.deepEqual(await sweep('America/New_York', '2026-03-07 12:00+00', '2026-03-08 12:00+00'), { unsafe: 0, lagging: 0, max_lag: '00:00:00' });
  });

  test('zones that go back 2 h (Antarctica/Troll) or 30 min (Australia/Lord_Howe) are safe too', async () => {
    // Troll: +02 → +00 on 2026-10-25 01:00 UTC. Lord Howe: +11 → +10:30 on 2026-04-05 (02:00 local).
    const troll = await sweep('Antarctica/Troll', '2026-10-24 12:00+00', '2026-10-25 12:00+00');
    assert.deepEqual({ ...troll, lagging: troll.lagging > 0 }, { unsafe: 0, lagging: true, max_lag: '02:00:00' });
    const lordHowe = await sweep('Australia/Lord_Howe', '2026-04-04 00:00+00', '2026-04-05 00:00+00');
    assert.deepEqual({ ...lordHowe, lagging: lordHowe.lagging > 0 }, { unsafe: 0, lagging: true, max_lag: '00:30:00' });
  });

  test('no cursor_timezone: below the wall time of any later instant in every zone, from UTC-12 to UTC+14', async () => {
    const res = await server.query(
      url,
      `WITH b AS (
         SELECT h, (${wallClockBoundSql('h', 'NULL::text')}) AS bound
         FROM generate_series('2026-01-01 00:00+00'::timestamptz, '2026-12-31 00:00+00', interval '7 hours') AS h
       )
       SELECT count(*)::int AS horizons,
              count(*) FILTER (WHERE bound > (SELECT min(t AT TIME ZONE z) FROM generate_series(h, h + interval '30 hours', interval '30 minutes') AS t,
                                              unnest(ARRAY['Etc/GMT+12', 'Pacific/Pago_Pago', 'America/New_York', 'UTC', 'Antarctica/Troll',
                                                           'Australia/Lord_Howe', 'Pacific/Kiritimati']) AS z))::int AS unsafe
       FROM b`,
    );
    assert.deepEqual(res.rows[0], { horizons: 1249, unsafe: 0 });
  });
});
