/**
 * pgduck_lag_seconds on real Postgres (issue #13's closing note):
 *
 * - the wall-clock → instant conversion (src/runner/cursor-time.ts) agrees with Postgres's own
 *   `timestamp AT TIME ZONE zone` every 15 minutes across the 2026 DST changes of four zones
 *   (skipped and repeated hours, a 30-minute change) and for dates;
 * - `pgduck run --listen`: /metrics parses; a timestamp cursor with source.cursor_timezone has a lag
 *   series equal to what Postgres computes for the checkpoint's cursor (bracketed by a query before
 *   and after the scrape); a timestamp cursor without a zone and an integer cursor have none, and the
 *   missing zone is logged once over several scrapes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace } from '../support/workspace.js';
import { parsePrometheusText, sampleValue, select, type Exposition } from '../support/prometheus-text.js';
import { cursorTimeMs, wallClockToInstant } from '../../src/runner/cursor-time.js';

let pg: TestPostgres;
let url: string;
before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('lag_seconds');
});
after(async () => {
  await pg?.stop();
});

const TRANSITIONS: [zone: string, days: string[]][] = [
  ['Europe/Berlin', ['2026-03-29', '2026-10-25']],
  ['America/New_York', ['2026-03-08', '2026-11-01']],
  ['Australia/Lord_Howe', ['2026-04-05', '2026-10-04']],
  ['America/Santiago', ['2026-04-05', '2026-09-06']],
];

test('wall-clock cursors become the instants Postgres AT TIME ZONE gives, across DST changes', async () => {
  let compared = 0;
  for (const [zone, days] of TRANSITIONS) {
    for (const day of days) {
      const { rows } = await pg.query(
        url,
        `SELECT w::text AS wall, (extract(epoch FROM (w AT TIME ZONE $1)) * 1000)::float8 AS ms
         FROM generate_series(($2::date - 1)::timestamp, ($2::date + 1)::timestamp, interval '15 minutes') AS w`,
        [zone, day],
      );
      for (const r of rows as { wall: string; ms: number }[]) {
        assert.equal(cursorTimeMs(r.wall, 'timestamp', zone), r.ms, `${r.wall} in ${zone}`);
        compared++;
      }
      const d = await pg.query(url, `SELECT $2::date::text AS day, (extract(epoch FROM ($2::date::timestamp AT TIME ZONE $1)) * 1000)::float8 AS ms`, [
        zone,
        day,
      ]);
      assert.equal(cursorTimeMs(d.rows[0].day as string, 'date', zone), d.rows[0].ms, `${day} in ${zone}`);
    }
  }
  assert.equal(compared, TRANSITIONS.length * 2 * (2 * 96 + 1));
  // The instants of a skipped and a repeated hour themselves.
  assert.equal(wallClockToInstant(Date.parse('2026-03-29T02:30:00Z'), 'Europe/Berlin'), Date.parse('2026-03-29T01:30:00Z'));
});

test('/metrics: a lag series for a zoned timestamp cursor, equal to Postgres; none for an unzoned one (one warning) or an integer cursor', async () => {
  await pg.query(
    url,
    `CREATE TABLE public.zoned (id int PRIMARY KEY, changed timestamp NOT NULL);
     INSERT INTO public.zoned SELECT i, (now() AT TIME ZONE 'America/New_York') - interval '1 hour' - i * interval '1 second' FROM generate_series(1, 50) i;
     CREATE TABLE public.unzoned (id int PRIMARY KEY, changed timestamp NOT NULL);
     INSERT INTO public.unzoned SELECT i, localtimestamp - interval '20 hours' FROM generate_series(1, 20) i;
     CREATE TABLE public.versioned (id int PRIMARY KEY, version bigint NOT NULL);
     INSERT INTO public.versioned SELECT i, 1000 + i FROM generate_series(1, 20) i;`,
  );
  const ws = createWorkspace();
  const pipeline = (table: string, cursor: string, zone?: string) =>
    ws.writePipeline(
      table,
      [
        'source:',
        `  table: public.${table}`,
        '  primary_key: id',
        `  cursor: ${cursor}`,
        ...(zone ? [`  cursor_timezone: ${zone}`] : []),
        'target:',
        `  table: ${table}`,
        'schedule: "*/2 * * * * *"',
        'horizon:',
        '  margin_ms: 0',
        '',
      ].join('\n'),
    );
  pipeline('zoned', 'changed', 'America/New_York');
  pipeline('unzoned', 'changed');
  pipeline('versioned', 'version');
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'run', '--listen', `127.0.0.1:${port}`], { env: ws.env(url), stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  child.stderr.on('data', (d) => (logs += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    return parsePrometheusText(await res.text());
  };
  // Seconds from the zoned table's newest cursor (the checkpoint's, once bootstrapped) to now, by Postgres.
  const pgLag = async () =>
    Number(
      (await pg.query(url, `SELECT extract(epoch FROM clock_timestamp() - (max(changed) AT TIME ZONE 'America/New_York'))::float8 AS s FROM public.zoned`))
        .rows[0].s,
    );
  try {
    const until = Date.now() + 60_000;
    for (;;) {
      const m = await scrape().catch(() => null);
      if (m && ['zoned', 'unzoned', 'versioned'].every((p) => select(m, 'pgduck_runs_total', { pipeline: p, outcome: 'ok' }).some((s) => s.value >= 1))) break;
      if (Date.now() > until) assert.fail(`timed out waiting for the bootstraps\n${logs.slice(-3000)}`);
      await sleep(100);
    }
    for (let i = 0; i < 3; i++) {
      const low = await pgLag();
      const m = await scrape();
      const high = await pgLag();
      const lag = sampleValue(m, 'pgduck_lag_seconds', { pipeline: 'zoned' });
      assert.ok(lag >= low - 0.001 && lag <= high + 0.001, `lag ${lag} s, Postgres says ${low}…${high} s`);
      assert.ok(lag > 3600, 'the newest row was written an hour before now');
      assert.equal(select(m, 'pgduck_lag_seconds', { pipeline: 'unzoned' }).length, 0);
      assert.equal(select(m, 'pgduck_lag_seconds', { pipeline: 'versioned' }).length, 0);
      assert.equal(sampleValue(m, 'pgduck_rows_synced_total', { pipeline: 'zoned' }), 50);
    }
    const warnings = logs.split('\n').filter((l) => l.includes('no pgduck_lag_seconds for'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /"pipeline":"unzoned".*cursor column \\"changed\\" is timestamp without time zone.*source\.cursor_timezone is not set/);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, logs.slice(-2000));
  }
  ws.cleanup();
});
