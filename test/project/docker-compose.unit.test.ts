/**
 * No Docker engine runs where the tests run, so docker-compose.yml and the Dockerfile are checked by
 * reading: every path they mount or copy exists, and the environment the syncer gets resolves to the
 * settings pgduck reads (the same resolveSettings the CLI uses).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveSettings } from '../../src/runner/settings.js';
import { ROOT } from '../support/workspace.js';

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  command?: unknown;
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
