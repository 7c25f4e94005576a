/**
 * A checkpoint's cursor as a point in time, for pgduck_lag_seconds (src/runner/service-metrics.ts):
 * the cursor's exact text as Postgres prints it (DateStyle ISO; a UTC session for timestamptz)
 * read by the cursor column's type.
 *
 *   timestamptz  an instant: its printed offset says where it is (`2026-01-05 10:31:12.004113+00`).
 *   timestamp    a wall-clock time of the writers' zone, source.cursor_timezone (the zone the commit
 *                horizon uses, src/postgres/horizon.ts; never the schedule's timezone, which says when
 *                runs fire, not what the data means). Unknown zone: no time.
 *   date         midnight of that day, in the same zone.
 *
 * A wall-clock time becomes an instant as Postgres's `AT TIME ZONE` makes it (DetermineTimeZoneOffset
 * in its datetime.c): a time skipped by a spring-forward change is read with the offset before the
 * change, a time a fall-back change repeats with the offset after it (the later instant).
 * `status --connect` needs none of this: it subtracts two cursors of one type inside Postgres
 * (src/live/source-lag.ts), where the zone cancels out; the lag here is measured against now.
 *
 * ±infinity, BC dates and anything unparseable have no time (null): no series rather than a wrong one.
 */

export type CursorClock = 'timestamptz' | 'timestamp' | 'date';

/** Which clock a cursor column's type reads on (its base type, as format_type or typname prints it); null for any other type. */
export function cursorClockOf(type: string): CursorClock | null {
  const t = type.trim().toLowerCase();
  if (t.endsWith('[]')) return null;
  if (t === 'timestamptz' || /^timestamp(\(\d+\))? with time zone$/.test(t)) return 'timestamptz';
  if (/^timestamp(\(\d+\))?( without time zone)?$/.test(t)) return 'timestamp';
  if (t === 'date') return 'date';
  return null;
}

const STAMP = /^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(\.\d+)?)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?$/;

/** The cursor as ms since the epoch; null when it has no time (see above) or the zone of a wall-clock type is unknown. */
export function cursorTimeMs(cursor: string, clock: CursorClock, zone: string | null): number | null {
  const m = STAMP.exec(cursor.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os] = m;
  const hasTime = h !== undefined;
  const hasOffset = sign !== undefined;
  if (clock === 'date' ? hasTime || hasOffset : !hasTime || hasOffset !== (clock === 'timestamptz')) return null;
  const wall = utcMs(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), frac ? Math.floor(Number(`0${frac}`) * 1000) : 0);
  // Beyond what a JS Date holds (year 275760): no time, rather than NaN.
  if (!Number.isFinite(wall)) return null;
  if (clock === 'timestamptz') return wall - (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * 1000 * (sign === '-' ? -1 : 1);
  if (zone === null) return null;
  return wallClockToInstant(wall, zone);
}

/** Date.UTC without its 0–99 → 1900s mapping. */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

const DAY_MS = 86_400_000;

/**
 * The instant whose wall clock in `zone` reads `wall` (given as if it were UTC). Of two readings
 * (fall back) the later; of none (spring forward) the one with the offset before the change.
 */
export function wallClockToInstant(wall: number, zone: string): number {
  const before = offsetMs(wall - DAY_MS, zone);
  const after = offsetMs(wall + DAY_MS, zone);
  const valid = [...new Set([after, before])].map((o) => wall - o).filter((t) => offsetMs(t, zone) === wall - t);
  if (valid.length > 0) return Math.max(...valid);
  return wall - before;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at instant `t` (ms; east positive). */
function offsetMs(t: number, zone: string): number {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, f);
  }
  const part: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(t))) part[p.type] = p.value;
  const year = part.era === 'BC' || part.era === 'B' ? 1 - Number(part.year) : Number(part.year);
  const local = utcMs(year, Number(part.month), Number(part.day), Number(part.hour), Number(part.minute), Number(part.second), 0);
  return local - (t - (((t % 1000) + 1000) % 1000));
}
