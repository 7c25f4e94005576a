/**
 * The parallel bootstrap measured (issue 11, `bootstrap.parallel`): the bench's `bench_events`
 * (src/bench/bench-table.ts) seeded once, then bootstrapped by `pgduck run --once` as a process under
 * `/usr/bin/time` for each parallel setting, each into a fresh target: pgduck's wall, user and sys
 * seconds and peak RSS, and the Postgres server's CPU over the run (its postmaster's reaped
 * children: the backends that served the COPYs, the count and the splits).
 *
 *   npx tsx scripts/bench-parallel-bootstrap.ts
 *   BENCH_SCALE (rows, default 1,000,000), BENCH_BATCH (one batch size, default 100,000),
 *   PARALLEL_LIST (default 1,2), BENCH_ROUNDS (default 1: each setting once, alternated);
 *   PGDUCK_LOG_LEVEL=debug also prints how long the snapshot export, count and splits took
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/postgres/embedded-server.js';
import { connectPostgres } from '../src/postgres/connect.js';
import { CREATE_SQL, INSERT_SQL, pipelineYaml } from '../src/bench/bench-table.js';
import { phaseEnv } from '../src/bench/bench-phase.js';
import { withDuckDbFile } from '../src/duckdb/lake.js';

const ROOT = new URL('../', import.meta.url).pathname;
const rows = Number(process.env.BENCH_SCALE ?? 1_000_000);
const batch = Number(process.env.BENCH_BATCH ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const settings = (process.env.PARALLEL_LIST ?? '1,2').split(',').map(Number);

/** CPU seconds the postmaster has reaped from its children (the backends that ended), from /proc. */
function postgresChildCpu(dataDir: string): number {
  const pid = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0].trim();
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // cutime and cstime: fields 16 and 17 of stat, 14 and 15 after "pid (comm) ".
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

async function main(): Promise<void> {
  const server = await startEmbeddedPostgres();
  const work = mkdtempSync(join(tmpdir(), 'pgduck-parallel-bench-'));
  try {
    const pg = await connectPostgres(server.url, { label: 'bench' });
    await pg.query(CREATE_SQL);
    process.stdout.write(`seeding ${rows.toLocaleString('en')} rows…\n`);
    await pg.query(INSERT_SQL, [1, rows]);
    await pg.query('VACUUM ANALYZE bench_events');
    await pg.end();
    process.stdout.write(`load average at start: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
    for (let round = 1; round <= rounds; round++) {
      for (const parallel of settings) {
        const dir = join(work, `p${parallel}-r${round}`);
        mkdirSync(join(dir, 'pipelines'), { recursive: true });
        writeFileSync(join(dir, 'pipelines', 'bench_events.yml'), pipelineYaml(batch, true, parallel));
        const pgBefore = postgresChildCpu(server.dataDir);
        const run = spawnSync('/usr/bin/time', ['-f', '%e wall %U user %S sys %M KB', join(ROOT, 'bin', 'pgduck.cjs'), 'run', '--once'], {
          env: { ...process.env, ...phaseEnv(server.url, dir), PGDUCK_LOG_LEVEL: process.env.PGDUCK_LOG_LEVEL ?? 'warn', PGDUCK_LOG_FORMAT: 'json' },
          encoding: 'utf8',
        });
        if (run.status !== 0) throw new Error(`pgduck run --once exited ${run.status}: ${run.stdout}\n${run.stderr}`);
        const out = run.stderr;
        const pgCpu = postgresChildCpu(server.dataDir) - pgBefore;
        const duck = await withDuckDbFile(join(dir, 'lake.duckdb'), (s) => s.all('SELECT count(*)::INT AS n FROM bench_events'), { readOnly: true });
        if (Number(duck[0].n) !== rows) throw new Error(`parallel ${parallel}: ${duck[0].n} rows in DuckDB, ${rows} in the source`);
        // With PGDUCK_LOG_LEVEL=debug: how long the export, the count and the splits took before the ranges started.
        const split = /"splitMs":(\d+)/.exec(out);
        process.stdout.write(
          `round ${round}, parallel ${parallel}, batch ${batch.toLocaleString('en')}: ${out.trim().split('\n').pop()}; Postgres backends ${pgCpu.toFixed(2)} CPU-s${split ? `; split ${split[1]} ms` : ''}\n`,
        );
        rmSync(dir, { recursive: true, force: true });
      }
    }
    process.stdout.write(`load average at end: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
