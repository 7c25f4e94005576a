import type { LiveFinding } from './live-finding.js';

/**
 * `file:line:col path: [warning: ]pipeline: message`, the shape of a config problem, then the fix
 * (SQL or an action) on its own lines, indented, so it can be copied as it is.
 */
export function formatLiveFinding(finding: LiveFinding): string {
  const where = `${finding.file}:${finding.line}:${finding.col}${finding.path ? ` ${finding.path}` : ''}`;
  const head = `${where}: ${finding.severity === 'warning' ? 'warning: ' : ''}${finding.pipelines.join(', ')}: ${finding.message}`;
  const fix = finding.fix
    ? finding.fix
        .split('\n')
        .map((line) => `\n    ${line}`)
        .join('')
    : '';
  return `${head}${fix}\n`;
}

/** The JSON record of one finding, with a stable key order. */
export function liveFindingRecord(f: LiveFinding): LiveFinding {
  const { check, severity, pipelines, file, line, col, path, column, message, fix } = f;
  return { check, severity, pipelines, file, line, col, path, column, message, fix };
}

/** `✓ live checks passed: …` or `live checks: 2 errors, 1 warning (…)`. */
export function formatLiveSummary(findings: readonly LiveFinding[], pipelines: number, against: string): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  const what = `${count(pipelines, 'pipeline')} against ${against}`;
  if (errors === 0) return `✓ live checks passed for ${what}${warnings ? ` (${count(warnings, 'warning')})` : ''}`;
  return `live checks failed for ${what}: ${count(errors, 'error')}${warnings ? `, ${count(warnings, 'warning')}` : ''}`;
}
