/**
 * `COPY (query) TO STDOUT` streamed into a file: the benchmark's baseline, the plainest way to get
 * a table out of Postgres. Not used by the sync itself (pg-copy-streams is a dev dependency).
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';

export async function copyQueryToFile(url: string, query: string, path: string, format: 'csv' = 'csv'): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  // A dropped connection emits 'error' on the client; unheard, it would kill the process instead of failing the query.
  client.on('error', () => {});
  await client.connect();
  try {
    await pipeline(client.query(copyStreams.to(`COPY (${query}) TO STDOUT WITH (FORMAT ${format}, HEADER)`)), createWriteStream(path));
  } finally {
    await client.end();
  }
}

/** Run SQL statements in order on one connection (the benchmark's seed). */
export async function runStatements(url: string, statements: { text: string; values?: unknown[] }[]): Promise<void> {
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
