/**
 * `COPY (query) TO STDOUT` streamed into a file: the extract stage's CSV data path (a keyset batch as
 * CSV, src/stages/extract.ts), and the benchmark's baseline, the plainest way to get a table out of
 * Postgres. The bytes go from the socket to the file: no value is parsed in JavaScript.
 */
import { createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { PgClient } from './connect.js';

// pg and pg-copy-streams load at the first COPY, not with the module: the stages import this file, and
// `plan` and `status` load the stages without ever reading a row (test/project/lazy-loading.test.ts).
const copyTo = async (sql: string) => (await import('pg-copy-streams')).default.to(sql);

/**
 * `COPY (query) TO STDOUT (FORMAT csv)` on the caller's session (its settings shape the text), into
 * `path`, after `prefix` (a first line the reader skips); returns the rows written. COPY takes no bind
 * parameters: `query` must carry its values as literals. On failure the partial file is removed and
 * the error rethrown.
 */
export async function copyCsvToFile(client: PgClient, query: string, path: string, prefix = ''): Promise<number> {
  const copy = client.query(await copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT csv)`));
  try {
    const file = createWriteStream(path);
    if (prefix) file.write(prefix);
    await pipeline(copy, file);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return copy.rowCount;
}

export async function copyQueryToFile(url: string, query: string, path: string, format: 'csv' = 'csv'): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  // A dropped connection emits 'error' on the client; unheard, it would kill the process instead of failing the query.
  client.on('error', () => {});
  await client.connect();
  try {
    await pipeline(client.query(await copyTo(`COPY (${query}) TO STDOUT WITH (FORMAT ${format}, HEADER)`)), createWriteStream(path));
  } finally {
    await client.end();
  }
}

/** Run SQL statements in order on one connection (the benchmark's seed). */
export async function runStatements(url: string, statements: { text: string; values?: unknown[] }[]): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  // A dropped connection emits 'error' on the client; unheard, it would kill the process instead of failing the query.
  client.on('error', () => {});
  await client.connect();
  try {
    for (const s of statements) await client.query(s.text, s.values);
  } finally {
    await client.end();
  }
}
