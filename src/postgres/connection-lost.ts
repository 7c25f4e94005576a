/**
 * Did a query fail because the connection to Postgres went away (the server terminated the backend,
 * restarted, or the network dropped), as opposed to an error in the query itself? The first is worth
 * saying in those words: the data is fine, the next run resumes from the checkpoint.
 */

// admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown, cannot_connect_now, and class 08: connection exceptions.
const LOST_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

// What pg says when the socket closed under a query, or when a query is sent on a client whose connection already failed.
const LOST_TEXT = /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|server closed the connection unexpectedly|terminating connection due to/i;

export function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && LOST_CODES.has(code)) return true;
  return error instanceof Error && LOST_TEXT.test(error.message);
}
