/**
 * What a DuckDB error means for pgduck. @duckdb/node-api throws plain Errors whose message starts
 * with DuckDB's error type (`IO Error: …`, `Out of Memory Error: …`), so the message is all there
 * is to read. Returns null for anything it does not know (the caller then looks further down the
 * cause chain, and finally calls it internal).
 */
import { PgduckError, messageOf } from '../errors/pgduck-error.js';
import { describeLockHolder, parseLockConflict } from './lock-conflict.js';

/** `said` is how the failure reads so far (the outermost message, which carries the context). */
export function classifyDuckDbError(error: unknown, said: string = messageOf(error)): PgduckError | null {
  const text = messageOf(error);
  const lock = parseLockConflict(text);
  if (lock) {
    // Heals by itself when the holder is another pgduck run or a replay; a DuckDB CLI left open needs closing.
    const fix = 'close it there (a DuckDB CLI, a notebook, another pgduck run, a pgduck replay) or let it finish; nothing was written';
    const file = lock.file ? `the DuckDB file ${lock.file}` : 'the DuckDB file';
    return new PgduckError(`${file} is locked by ${describeLockHolder(lock)}: ${fix}`, { kind: 'transient', code: 'DUCKDB_LOCKED', fix, cause: error });
  }
  if (/No space left on device/i.test(text)) {
    return new PgduckError(`the disk is full: ${said}; free some space, then run again`, {
      kind: 'needs-action',
      code: 'DISK_FULL',
      fix: 'free some space, then run again',
      cause: error,
    });
  }
  // pgduck's own casts refuse a value they cannot carry exactly with DuckDB's error() (src/schema/type-map.ts).
  if (/pgduck: column "[^"]*": /.test(text)) {
    return new PgduckError(said, {
      kind: 'needs-action',
      code: 'VALUE_REFUSED',
      fix: 'change the value in the source, or the column type (README "Types" says which types carry which values)',
      cause: error,
    });
  }
  if (/^Out of Memory Error/i.test(text)) {
    return new PgduckError(said, {
      kind: 'needs-action',
      code: 'DUCKDB_OUT_OF_MEMORY',
      fix: 'raise PGDUCK_DUCKDB_MEMORY_LIMIT, or lower batch_size or PGDUCK_CONCURRENCY',
      cause: error,
    });
  }
  if (/^IO Error/i.test(text)) {
    if (/Permission denied|read-only file system/i.test(text)) {
      return new PgduckError(said, {
        kind: 'needs-action',
        code: 'PERMISSION_DENIED',
        fix: 'make the DuckDB file and its directory writable by this user',
        cause: error,
      });
    }
    return new PgduckError(said, { kind: 'needs-action', code: 'DUCKDB_IO', cause: error });
  }
  return null;
}
