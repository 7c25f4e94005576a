/**
 * `COPY (query) TO STDOUT (FORMAT csv)` as a byte stream on a connection of its own: the bootstrap
 * stream (src/stages/bootstrap-stream.ts) reads a whole table through it while the run's own session
 * keeps serving the other stages' queries. The connection has the session settings of every pgduck
 * connection (connect.ts), so the text is the same as a keyset batch's.
 */
import type { Readable } from 'node:stream';
import { connectPostgres, endQuietly } from './connect.js';

export interface CopyStream {
  /** The CSV bytes. Not read, it stops reading the socket, and Postgres blocks on its send (TCP backpressure). */
  readonly stream: Readable;
  /** The session's `statement_timeout` in ms (0: none): a stream must end before it (bootstrap-stream.ts, segments). */
  readonly statementTimeoutMs: number;
  /**
   * End the COPY and its connection, whether it finished or not (COPY TO has no abort message: the
   * connection is closed, which ends the server's query). Never throws, never waits more than a few
   * seconds; safe to call more than once.
   */
  close(): Promise<void>;
}

export interface CopyStreamOptions {
  /**
   * A snapshot exported by another session (pg_export_snapshot(), export-snapshot.ts): the COPY runs
   * in a REPEATABLE READ READ ONLY transaction that imported it first, so it reads exactly the rows
   * that session saw (the parallel bootstrap's ranges). Absent: the COPY's own snapshot.
   */
  snapshot?: string;
  /**
   * With `snapshot`: the table (quoted, qualified) locked ACCESS SHARE NOWAIT before the COPY is sent.
   * The COPY takes that lock only once the server runs it, after this returns; locked here, while the
   * exporting session still holds its own lock, no DDL can commit between the snapshot and the read
   * (a table rewrite would read as empty in an older snapshot). NOWAIT: a DDL queued behind the
   * exporter would otherwise queue this lock behind it while the exporter waits for this: the open
   * fails instead (55P03), and the caller reads the table another way.
   */
  lock?: string;
}

export async function openCopyCsvStream(url: string, label: string, query: string, opts: CopyStreamOptions = {}): Promise<CopyStream> {
  const client = await connectPostgres(url, { label, connectTimeoutMs: 30_000 });
  let stream: Readable;
  let statementTimeoutMs: number;
  try {
    if (opts.snapshot !== undefined) {
      // Awaited: the exporting transaction may end once this returns (the snapshot then lives on in this one).
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${snapshotLiteral(opts.snapshot)}`);
      if (opts.lock !== undefined) await client.query(`LOCK TABLE ${opts.lock} IN ACCESS SHARE MODE NOWAIT`);
    }
    // Set on the role or the database, it would cancel a stream that outlives it.
    const res = await client.query(`SELECT setting FROM pg_settings WHERE name = 'statement_timeout'`);
    statementTimeoutMs = Number(res.rows[0]?.setting ?? 0) || 0;
    const { default: copy } = await import('pg-copy-streams');
    stream = client.query(copy.to(`COPY (${query}) TO STDOUT WITH (FORMAT csv)`));
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | null = null;
  // The COPY's transaction (with a snapshot) is never committed: it only read, and ending the session ends it.
  return {
    stream,
    statementTimeoutMs,
    close() {
      closing ??= (async () => {
        stream.destroy();
        // The COPY is still active: ending the session ends it on the server too.
        await endQuietly(client);
      })();
      return closing;
    },
  };
}

/** A snapshot id as Postgres prints it (`00000003-0000001B-1`), as a literal; anything else is a bug, refused. */
export function snapshotLiteral(id: string): string {
  if (!/^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$/.test(id)) throw new Error(`not a snapshot id: ${JSON.stringify(id)}`);
  return `'${id}'`;
}
