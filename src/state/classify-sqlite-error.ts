/**
 * What a better-sqlite3 error means for pgduck: its SqliteError carries SQLite's extended result
 * code as `code` (`SQLITE_BUSY`, `SQLITE_IOERR_WRITE`…), sorted here into kinds. Duck-typed on
 * `code`, so it needs no driver import. Returns null for anything else.
 */
import { PgduckError, messageOf } from '../errors/pgduck-error.js';

/** `said` is how the failure reads so far (the outermost message, which carries the context). */
export function classifySqliteError(error: unknown, said: string = messageOf(error)): PgduckError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
  switch (primary) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new PgduckError(`the state store is locked by another process (a sqlite3 shell, another pgduck run with the same STATE_DIR): ${said}`, {
        kind: 'transient',
        code: 'STATE_LOCKED',
        fix: 'close the other process (or let it finish), then run again',
        cause: error,
      });
    case 'SQLITE_FULL':
      return new PgduckError(`the disk is full: ${said}; free some space, then run again`, {
        kind: 'needs-action',
        code: 'DISK_FULL',
        fix: 'free some space, then run again',
        cause: error,
      });
    case 'SQLITE_CANTOPEN':
      return new PgduckError(said, {
        kind: 'config',
        code: 'STATE_CANTOPEN',
        fix: 'point STATE_DIR (or --state-dir) at a directory this user can create files in',
        cause: error,
      });
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return new PgduckError(said, {
        kind: 'config',
        code: 'STATE_READONLY',
        fix: 'make the state store file and its directory writable by this user',
        cause: error,
      });
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new PgduckError(said, {
        kind: 'needs-action',
        code: 'STATE_CORRUPT',
        fix: 'move the state store file aside (the next run bootstraps every pipeline again), or restore it from a backup',
        cause: error,
      });
    case 'SQLITE_IOERR':
      return new PgduckError(said, { kind: 'needs-action', code: 'STATE_IO', fix: 'check the disk holding STATE_DIR', cause: error });
    default:
      return null;
  }
}
