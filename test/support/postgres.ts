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
import { quoteIdent, quoteLiteral } from '../../src/sql/identifier.js';

export { freePort };

export interface TestPostgres {
  /** A database of its own: on the shared server a fresh one, on an own server `postgres`. */
  url: string;
  /**
   * A fresh database, so tests do not see each other's tables. On the shared server its name is
   * `name` plus a suffix unique to this process (the returned URL names it).
   */
  createDatabase(name: string, opts?: { encoding?: string }): Promise<string>;
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
  const sessions = new ReusedSessions();
  let stopped = false;
  const self: TestPostgres = {
    url: serverUrl,
    query: (target, sql, params) => sessions.query(target, sql, params),
    /** `encoding`: a database of that server encoding (collation "C", from template0), for the encoding tests. */
    async createDatabase(name, opts = {}) {
      const actual = nameFor(name);
      const encoding = opts.encoding ? ` ENCODING ${quoteLiteral(opts.encoding)} LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0` : '';
      await self.query(serverUrl, `CREATE DATABASE ${quoteIdent(actual)}${encoding}`);
      const u = new URL(serverUrl);
      u.pathname = `/${actual}`;
      return u.toString();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await sessions.endAll();
      await stop();
      await sessions.endAll();
    },
  };
  return self;
}

/** The server ended the session (terminated, shut down) or its socket broke. */
function sessionGone(err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  return ['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE'].includes(code ?? '') || /Connection terminated|not queryable/.test(message ?? '');
}

/**
 * query()'s sessions: one per statement at a time, kept open between statements (per URL) instead of
 * a connection each: a connection is a backend fork and its start-up on the server (~30 ms of CPU
 * measured), and a test file's helpers make 10–20 (measured on four files), the suite's over a
 * thousand. A kept session is as fresh as a new one: DISCARD ALL
 * after each statement (temporary tables, SET, advisory locks, prepared statements); one left inside
 * a transaction is closed instead. Statements run at once get sessions of their own, as before (one
 * may wait on a lock another releases). A kept session the server ended while it sat idle (a test
 * terminating backends, DROP DATABASE … WITH (FORCE)) is replaced and the statement runs on a new
 * session (the server ending a session in the middle of a helper statement would do the same).
 */
class ReusedSessions {
  private readonly idle = new Map<string, pg.Client[]>();
  private readonly open = new Set<pg.Client>();

  async query(target: string, sql: string, params?: unknown[]): Promise<pg.QueryResult> {
    const kept = this.take(target);
    const client = kept ?? (await this.connect(target));
    let result: pg.QueryResult;
    try {
      result = await client.query(sql, params);
    } catch (err) {
      if (kept && (!this.open.has(client) || sessionGone(err))) {
        this.open.delete(client);
        void client.end().catch(() => {});
        return this.query(target, sql, params);
      }
      await this.release(target, client);
      throw err;
    }
    await this.release(target, client);
    return result;
  }

  async endAll(): Promise<void> {
    this.idle.clear();
    const all = [...this.open];
    this.open.clear();
    await Promise.all(all.map((c) => c.end().catch(() => {})));
  }

  private take(target: string): pg.Client | undefined {
    const list = this.idle.get(target) ?? [];
    for (let c = list.pop(); c; c = list.pop()) if (this.open.has(c)) return c;
    return undefined;
  }

  private async connect(target: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: target });
    // Ended by the server while idle (or mid-statement): forget it; never crash the test process.
    const gone = () => this.open.delete(client);
    client.on('error', gone);
    client.on('end', gone);
    await client.connect();
    this.open.add(client);
    return client;
  }

  private async release(target: string, client: pg.Client): Promise<void> {
    if (this.open.has(client) && client.getTransactionStatus() === 'I') {
      try {
        await client.query('DISCARD ALL');
        const list = this.idle.get(target) ?? [];
        list.push(client);
        this.idle.set(target, list);
        return;
      } catch {
        // fall through: a session that cannot be reset is not kept
      }
    }
    this.open.delete(client);
    await client.end().catch(() => {});
  }
}
