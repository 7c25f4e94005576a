/**
 * A change of the source the target cannot follow (or, under `schema_evolution: fail`, any change):
 * nothing was altered or loaded, and the message says what changed and how to recover. Needs-action
 * (rebuild the table) by default; transient when the source moved under a batch being read.
 */
import { PgduckError, type PgduckErrorDetails } from '../errors/pgduck-error.js';

export class SchemaDriftError extends PgduckError {
  constructor(message: string, details: Omit<PgduckErrorDetails, 'cause'> = { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE' }) {
    super(message, details);
    this.name = 'SchemaDriftError';
  }
}
