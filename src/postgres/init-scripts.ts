/**
 * Applies postgres/init/*.sql (schema, triggers, deterministic seed) to a database: the same
 * files docker compose mounts into docker-entrypoint-initdb.d. Used by the demo and the tests.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** Package root: this file is src/postgres/init-scripts.ts or dist/postgres/init-scripts.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** postgres/init under the package root. */
export const INIT_DIR = join(PACKAGE_ROOT, 'postgres', 'init');

export interface ApplyInitOptions {
  /** Accounts to seed (2 subscriptions, 3 invoices, 6 invoice lines each). Default: the scripts' own default (1000). 0 = schema only. */
  seedAccounts?: number;
  /** Directory with the *.sql files; default INIT_DIR. */
  dir?: string;
  /** Called after each file with its name and duration. */
  onFile?: (file: string, ms: number) => void;
}

/** The *.sql files of `dir`, sorted by name (byte order), as full paths. */
export async function listInitScripts(dir: string = INIT_DIR): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql'));
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((n) => join(dir, n));
}

/**
 * Runs every init script, in name order, on one connection to `url`, after
 * `SET pgduck.seed_accounts = N` when `seedAccounts` is given. Returns the files applied.
 * The scripts are re-runnable: applying them again to a seeded database changes nothing.
 */
export async function applyInitScripts(url: string, options: ApplyInitOptions = {}): Promise<string[]> {
  const { seedAccounts, dir = INIT_DIR, onFile } = options;
  if (seedAccounts !== undefined && !(Number.isSafeInteger(seedAccounts) && seedAccounts >= 0 && seedAccounts <= 2_147_483_647)) {
    throw new RangeError(`seedAccounts must be an integer from 0 to 2147483647, got ${seedAccounts}`);
  }
  const files = await listInitScripts(dir);
  const client = new pg.Client({ connectionString: url });
  // A dropped connection emits 'error' on the client; unheard, it would kill the process instead of failing the query.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('SET client_min_messages = warning');
    if (seedAccounts !== undefined) await client.query(`SET pgduck.seed_accounts = '${seedAccounts}'`);
    for (const file of files) {
      const sql = await readFile(file, 'utf8');
      const t0 = performance.now();
      try {
        // No parameters: the simple query protocol runs the whole multi-statement file.
        await client.query(sql);
      } catch (err) {
        const e = err as Error;
        e.message = `${file}: ${e.message}`;
        throw e;
      }
      onFile?.(file, performance.now() - t0);
    }
  } finally {
    await client.end();
  }
  return files;
}
