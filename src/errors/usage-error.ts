import { PgduckError } from './pgduck-error.js';

/** A flag or environment variable with a value the command cannot use: kind `usage` (exit code 2). */
export class UsageError extends PgduckError {
  constructor(message: string) {
    super(message, { kind: 'usage', code: 'USAGE' });
    this.name = 'UsageError';
  }
}
