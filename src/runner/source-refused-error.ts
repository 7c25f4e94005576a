import type { LiveIssue } from '../live/live-finding.js';
import { PgduckError } from '../errors/pgduck-error.js';

/**
 * `pgduck run` refuses a pipeline before reading it: a live rule says syncing it would silently lose
 * or mix rows (a declared key no unique index covers, two columns one DuckDB name). Its message is
 * the one `pgduck validate --connect` prints for the same rule, fix included, so both commands read
 * the same. A "needs-action" error: running again changes nothing until someone acts.
 */
export class SourceRefusedError extends PgduckError {
  readonly issues: readonly LiveIssue[];

  constructor(pipeline: string, issues: readonly LiveIssue[]) {
    const each = issues.map(
      (i) =>
        `${i.message}${
          i.fix
            ? i.fix
                .split('\n')
                .map((line) => `\n    ${line}`)
                .join('')
            : ''
        }`,
    );
    super(`${pipeline} was not synced (nothing read or written): ${each.join('\n')}`, {
      kind: 'needs-action',
      code: 'SOURCE_REFUSED',
      fix:
        issues
          .map((i) => i.fix)
          .filter(Boolean)
          .join('\n') || undefined,
    });
    this.name = 'SourceRefusedError';
    this.issues = issues;
  }
}
