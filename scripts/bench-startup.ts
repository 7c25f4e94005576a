/**
 * `npm run bench:startup [-- --rounds N] [--baseline <dir>]`: what each CLI command costs as a process,
 * in CPU milliseconds (user + sys of the child, from its own resource usage at exit), median of N rounds
 * (default 7), plus the median wall time. Commands: validate, plan, status, status --connect,
 * run --once with nothing to do, and run --once with 1,000 changed rows (an incremental cycle on a
 * 10,000-row table). A printed measurement, not a test: on a shared CPU any bound is flaky.
 *
 * --baseline <dir>: a built checkout of another version (its bin/pgduck.cjs and dist/), measured in
 * the same run, rounds interleaved with this checkout's, and printed as before/after. Build it in a
 * clone of its own (`git clone -q . /work/tmp-x && cd /work/tmp-x && git checkout main && ln -s
 * <node_modules> && npm run build`), never in a working copy someone uses.
 *
 * The CPU is read by a preloaded probe (`node --import`) when the process exits, so node's own
 * bootstrap before the probe (the same for every command, a few ms) is left out; what remains is
 * loading modules and doing the work.
 *
 * BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=<dir>': a CPU profile of every measured process.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/postgres/embedded-server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const rounds = Number(flag('--rounds') ?? 7);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const baseline = flag('--baseline');
// BENCH_NODE_ARGS: node flags for the measured processes, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'
// (one profile per command and round: where a command's CPU goes).
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

const TABLE_ROWS = 10_000;
const CHANGED_ROWS = 1_000;

interface Build {
  label: string;
  cli: string;
  env: NodeJS.ProcessEnv;
  /** Per command: CPU ms and wall ms of each round. */
  samples: Map<string, { cpu: number[]; wall: number[] }>;
}

// Under the repository (reachable by the embedded server's user when run as root), removed at the end.
const dir = mkdtempSync(join(ROOT, '.bench-startup-'));
const probe = join(dir, 'cpu-probe.mjs');
writeFileSync(
  probe,
  `import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const u = process.resourceUsage();
  writeFileSync(process.env.PGDUCK_BENCH_CPU_OUT, JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime }));
});
`,
);

function runMeasured(build: Build, name: string, args: string[]): { cpu: number; wall: number } {
  const out = join(dir, 'cpu.json');
  rmSync(out, { force: true });
  const start = performance.now();
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', probe, build.cli, ...args], {
    env: { ...build.env, PGDUCK_BENCH_CPU_OUT: out },
    encoding: 'utf8',
  });
  const wall = performance.now() - start;
  if (r.status !== 0) throw new Error(`${build.label}: pgduck ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const { cpuUs } = JSON.parse(readFileSync(out, 'utf8')) as { cpuUs: number };
  const s = build.samples.get(name) ?? { cpu: [], wall: [] };
  s.cpu.push(cpuUs / 1000);
  s.wall.push(wall);
  build.samples.set(name, s);
  return { cpu: cpuUs / 1000, wall };
}

function run(build: Build, args: string[]): string {
  const r = spawnSync(process.execPath, [build.cli, ...args], { env: build.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${build.label}: pgduck ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const server = await startEmbeddedPostgres();
const admin = new pg.Client({ connectionString: server.url });
try {
  await admin.connect();
  const builds: Build[] = [];
  for (const [label, root] of [...(baseline ? [['before', resolve(baseline)] as const] : []), ['after', ROOT] as const]) {
    // A database, pipelines, DuckDB file, Parquet history and state of its own per build.
    const db = `bench_${label}`;
    await admin.query(`CREATE DATABASE ${db}`);
    const url = server.url.replace(/\/postgres$/, `/${db}`);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE TABLE bench_rows (
        id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, round int NOT NULL, name text, amount numeric(12,2),
        qty int, active boolean, born date, tags text[], doc jsonb);
      INSERT INTO bench_rows SELECT i, clock_timestamp() - interval '1 hour', 0, md5(i::text), i * 1.25, i % 100, i % 2 = 0,
        date '2000-01-01' + i % 3650, ARRAY['a' || i % 7, 'b'], jsonb_build_object('k', i)
        FROM generate_series(1, ${TABLE_ROWS}) AS i;
      CREATE INDEX ON bench_rows (updated_at, id);`);
    await c.end();
    const ws = join(dir, label);
    mkdirSync(join(ws, 'pipelines'), { recursive: true });
    writeFileSync(
      join(ws, 'pipelines', 'bench_rows.yml'),
      'source:\n  table: public.bench_rows\n  primary_key: id\n  cursor: updated_at\ntarget:\n  table: bench_rows\nbatch_size: 10000\nschedule: "*/30 * * * * *"\nhorizon:\n  margin_ms: 0\n',
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: url,
      PIPELINES_DIR: join(ws, 'pipelines'),
      DUCKDB_PATH: join(ws, 'lake', 'warehouse.duckdb'),
      PARQUET_DIR: join(ws, 'parquet'),
      STATE_DIR: join(ws, 'state'),
      PGDUCK_LOG_FORMAT: 'json',
      PGDUCK_LOG_LEVEL: 'warn',
    };
    const build: Build = { label, cli: join(root, 'bin', 'pgduck.cjs'), env, samples: new Map() };
    run(build, ['run', '--once']); // the bootstrap, not measured: status has a state store from here on
    builds.push(build);
  }

  const changeRows = async (build: Build, round: number) => {
    const c = new pg.Client({ connectionString: build.env.DATABASE_URL });
    await c.connect();
    // 1,000 rows spread over the table, a new cursor value each: one incremental batch.
    await c.query(
      `UPDATE bench_rows SET round = $1, updated_at = clock_timestamp() WHERE id % ${TABLE_ROWS / CHANGED_ROWS} = $1 % ${TABLE_ROWS / CHANGED_ROWS}`,
      [round],
    );
    await c.end();
  };
  const COMMANDS: { name: string; args: string[]; changes?: true }[] = [
    { name: 'validate', args: ['validate'] },
    { name: 'plan', args: ['plan'] },
    { name: 'status', args: ['status'] },
    { name: 'status --connect', args: ['status', '--connect'] },
    { name: 'run --once (idle)', args: ['run', '--once'] },
    { name: `run --once (${CHANGED_ROWS.toLocaleString('en-US')} rows)`, args: ['run', '--once'], changes: true },
  ];

  for (let round = 1; round <= rounds; round++) {
    for (const { name, args, changes } of COMMANDS) {
      // Interleaved: before and after meet the same machine load in each round.
      for (const build of builds) {
        if (changes) await changeRows(build, round);
        runMeasured(build, name, args);
      }
    }
    process.stderr.write(`round ${round}/${rounds} done\n`);
  }

  // Each build applied the last round's rows: the measured run did the work it is named after.
  for (const build of builds) {
    const out = run(build, ['query', '--json', `SELECT count(*)::int AS n FROM bench_rows WHERE round = ${rounds}`]);
    const n = (JSON.parse(out) as { n: number }[])[0]?.n;
    if (n !== CHANGED_ROWS) throw new Error(`${build.label}: the last run applied ${n} of the ${CHANGED_ROWS} changed rows`);
  }

  const cell = (b: Build, name: string) => {
    const s = b.samples.get(name)!;
    return `${median(s.cpu).toFixed(0)} ms (wall ${median(s.wall).toFixed(0)})`;
  };
  const lines = [
    `CPU ms (user+sys of the process, median of ${rounds}; wall ms in brackets), node ${process.version}, ${(await import('node:os')).cpus().length} cores`,
    '',
    `| command | ${builds.map((b) => b.label).join(' | ')} |${builds.length === 2 ? ' CPU after/before |' : ''}`,
    `|---|${builds.map(() => '---|').join('')}${builds.length === 2 ? '---|' : ''}`,
    ...COMMANDS.map(({ name }) => {
      const ratio = builds.length === 2 ? ` ${(median(builds[1].samples.get(name)!.cpu) / median(builds[0].samples.get(name)!.cpu)).toFixed(2)} |` : '';
      return `| ${name} | ${builds.map((b) => cell(b, name)).join(' | ')} |${ratio}`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.end().catch(() => {});
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
