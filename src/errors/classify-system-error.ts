/**
 * Node's own errors (fs, sockets outside pg) by their errno code: a full disk, a permission, a
 * read-only file system. Also recognises a full disk by text, for engines that only say it in words.
 */
import { PgduckError, messageOf } from './pgduck-error.js';

const DISK_FULL_TEXT = /no space left on device|database or disk is full|ENOSPC/i;

/** `said` is how the failure reads so far (the outermost message, which carries the context). */
export function classifySystemError(error: unknown, said: string = messageOf(error)): PgduckError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || (error instanceof Error && DISK_FULL_TEXT.test(error.message))) {
    return new PgduckError(`the disk is full: ${said}; free some space, then run again`, {
      kind: 'needs-action',
      code: 'DISK_FULL',
      fix: 'free some space, then run again',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new PgduckError(said, {
      kind: 'needs-action',
      code: 'PERMISSION_DENIED',
      fix: 'make the file and its directory writable by this user',
      cause: error,
    });
  }
  return null;
}
