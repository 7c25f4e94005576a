/**
 * A snapshot shared by several sessions (the parallel bootstrap, src/stages/parallel-bootstrap.ts):
 *
 *   BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()
 *
 * on a connection of its own. Other sessions import it with `SET TRANSACTION SNAPSHOT '<id>'`
 * (copy-stream.ts) and read exactly the rows this transaction sees, as pg_dump's parallel workers
 * and DuckDB's Postgres scanner do. The snapshot can be imported only while this transaction is
 * open: `close()` ends it once every importer has imported it (they keep it from then on).
 */
import { connectPostgres, endQuietly, type PgClient } from './connect.js';

export interface ExportedSnapshot {
  /** The snapshot's id, for `SET TRANSACTION SNAPSHOT`. */
  readonly id: string;
  /** A query in the exporting transaction: it reads the rows of the snapshot. */
  query(text: string, values?: string[]): Promise<string[][]>;
  /** End the transaction and the connection. Never throws; safe to call more than once. */
  close(): Promise<void>;
}

export async function exportSnapshot(url: string, label: string): Promise<ExportedSnapshot> {
  const client: PgClient = await connectPostgres(url, { label, connectTimeoutMs: 30_000 });
  let id: string;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const res = await client.query<[string]>({ text: 'SELECT pg_export_snapshot()', rowMode: 'array' });
    id = res.rows[0][0];
  } catch (err) {
    await endQuietly(client);
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    id,
    async query(text, values = []) {
      const res = await client.query<string[]>({ text, values, rowMode: 'array' });
      return res.rows;
    },
    close() {
      closing ??= (async () => {
        // Read only: nothing to commit; ending the session ends the transaction (and the export).
        await endQuietly(client);
      })();
      return closing;
    },
  };
}
