/**
 * Any failure as a PgduckError: the kind, code and fix of the first error in the cause chain that
 * says what it is. An error already classified where it was thrown wins; otherwise each driver's
 * own classifier (in the folder that imports the driver) reads the chain, outermost first; what no
 * one recognises is `internal`. The message reads as the outermost one, in words a user can act on
 * ("the connection to Postgres was lost (…)", "the disk is full: …; free some space").
 */
import { PgduckError, causeChain, findPgduckError, messageOf } from '../errors/pgduck-error.js';
import { classifySystemError } from '../errors/classify-system-error.js';
import { classifyPostgresError } from '../postgres/classify-postgres-error.js';
import { classifyDuckDbError } from '../duckdb/classify-duckdb-error.js';
import { classifySqliteError } from '../state/classify-sqlite-error.js';

const CLASSIFIERS = [classifyPostgresError, classifyDuckDbError, classifySqliteError, classifySystemError];

export function classifyFailure(error: unknown): PgduckError {
  const known = findPgduckError(error);
  if (known && known === error) return known;
  const said = messageOf(error);
  // Wrapped on its way up: the kind is the inner error's, the words the outer one's (it has the context).
  if (known) return new PgduckError(said, { kind: known.kind, code: known.code, fix: known.fix, cause: error });
  for (const e of causeChain(error)) {
    for (const classify of CLASSIFIERS) {
      const found = classify(e, said);
      // The whole chain stays the cause: the wrappers on the way up say where it happened.
      if (found) return e === error ? found : new PgduckError(found.message, { kind: found.kind, code: found.code, fix: found.fix, cause: error });
    }
  }
  return new PgduckError(said, { kind: 'internal', code: 'INTERNAL', cause: error });
}
