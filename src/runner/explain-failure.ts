/**
 * A failure in words a user can act on. Most errors already say what went wrong and are kept as
 * they are; a few causes are common in production and deserve to be named as such, wherever they
 * sit in the cause chain: a lost Postgres connection, a DuckDB file (or the state store) locked by
 * another process, a full disk. Used by StageError, so every failed batch reads the same way.
 */
import { isConnectionLost } from '../postgres/connection-lost.js';
import { describeLockHolder, parseLockConflict } from '../duckdb/lock-conflict.js';

/** `ENOSPC` from Node's fs, DuckDB's "No space left on device", SQLite's "database or disk is full". */
const DISK_FULL_TEXT = /no space left on device|database or disk is full|ENOSPC/i;

export function explainFailure(error: unknown): string {
  const message = messageOf(error);
  const chain = causeChain(error);
  // A failed connect already says so (with the reason and a hint); "lost" is for a connection that was up.
  if (!message.startsWith('cannot connect to Postgres') && chain.some(isConnectionLost)) return `the connection to Postgres was lost (${message})`;
  for (const e of chain) {
    const lock = parseLockConflict(messageOf(e));
    if (lock) {
      const file = lock.file ? `the DuckDB file ${lock.file}` : 'the DuckDB file';
      return `${file} is locked by ${describeLockHolder(lock)}: close it there (a DuckDB CLI, a notebook, another pgduck run, a pgduck replay) or let it finish; nothing was written`;
    }
  }
  if (chain.some((e) => codeOf(e) === 'SQLITE_BUSY' || codeOf(e) === 'SQLITE_LOCKED')) {
    return `the state store is locked by another process (a sqlite3 shell, another pgduck run with the same STATE_DIR): ${message}`;
  }
  if (chain.some((e) => codeOf(e) === 'ENOSPC' || codeOf(e) === 'SQLITE_FULL' || DISK_FULL_TEXT.test(messageOf(e)))) {
    return `the disk is full: ${message}; free some space, then run again`;
  }
  return message;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}
