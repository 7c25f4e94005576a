/**
 * A real Postgres for tests. Call stop() in an after() hook.
 *
 * - Shared (the default): a fresh database of the server named by PGDUCK_TEST_DATABASE_URL, which
 *   the test launcher (scripts/run-tests.ts) sets to the one embedded server it starts for the whole
 *   run, or which names an external server. Every database this handle creates gets a name unique to
 *   this process, so test files running at once never meet; stop() drops them, not the server.
 * - Own server (`postgresFlags`, or `ownServer: true`): an embedded server for this file alone
 *   (src/postgres/embedded-server.ts), for tests that change what the whole cluster sees: server
 *   settings, roles' passwords, stopping the server. stop() shuts it down. Database names are kept
 *   as given. A test file run without the launcher (node --test file) gets one too.
 */
import pg from 'pg';
import { startEmbeddedPostgres, freePort } from '../../src/postgres/embedded-server.js';
import { quoteIdent } from '../../src/sql/identifier.js';

export { freePort };

export interface TestPostgres {
  /** A database of its own: on the shared server a fresh one, on an own server `postgres`. */
  url: string;
  /**
   * A fresh database, so tests do not see each other's tables. On the shared server its name is
   * `name` plus a suffix unique to this process (the returned URL names it).
   */
  createDatabase(name: string): Promise<string>;
  query(url: string, sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/** The variable naming the shared server (set by the launcher, or by hand for an external one). */
export const SHARED_URL_VARIABLE = 'PGDUCK_TEST_DATABASE_URL';

/**
 * `postgresFlags` (server settings such as `-c max_prepared_transactions=10`) always start an
 * embedded server of their own: a shared server's settings are not one file's to choose.
 */
export async function startPostgres(opts: { postgresFlags?: string[]; ownServer?: boolean } = {}): Promise<TestPostgres> {
  const shared = process.env[SHARED_URL_VARIABLE];
  if (shared && !opts.postgresFlags && !opts.ownServer) return sharedServer(shared);
  const server = await startEmbeddedPostgres({ postgresFlags: opts.postgresFlags });
  return handle(
    server.url,
    (name) => name,
    () => server.stop(),
  );
}

let handles = 0;

async function sharedServer(serverUrl: string): Promise<TestPostgres> {
  // pid: unique among the files running at once; the counter: among the handles of one file.
  const tag = `p${process.pid}_${++handles}`;
  const created: string[] = [];
  const self = handle(
    serverUrl,
    (name) => {
      const unique = `${name}_${tag}`;
      created.push(unique);
      return unique;
    },
    async () => {
      for (const name of created.reverse()) {
        // FORCE: a CLI child killed mid-test may leave a session behind.
        await self.query(serverUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      }
    },
  );
  const home = await self.createDatabase('pgduck_test');
  return { ...self, url: home };
}

function handle(serverUrl: string, nameFor: (name: string) => string, stop: () => Promise<void>): TestPostgres {
  const query = async (target: string, sql: string, params?: unknown[]) => {
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  let stopped = false;
  return {
    url: serverUrl,
    query,
    async createDatabase(name) {
      const actual = nameFor(name);
      await query(serverUrl, `CREATE DATABASE ${quoteIdent(actual)}`);
      const u = new URL(serverUrl);
      u.pathname = `/${actual}`;
      return u.toString();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stop();
    },
  };
}
