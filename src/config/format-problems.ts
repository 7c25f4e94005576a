import type { ConfigProblem } from './config-problem.js';

/**
 * `file:line:col path: message`, the shape editors and CI annotators recognise; a problem about
 * the whole file has no path: `file:1:1: message`.
 */
export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/** One line per problem, each ending in a newline ('' when there are none). */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${formatProblem(p)}\n`).join('');
}

/** The JSON record of one problem, with a stable key order. */
export function problemRecord(problem: ConfigProblem): ConfigProblem {
  const { file, line, col, path, message, inheritedBy } = problem;
  return { file, line, col, path, message, ...(inheritedBy !== undefined && { inheritedBy }) };
}

export interface ValidationReport {
  valid: boolean;
  /** Pipeline files checked. */
  pipelines: number;
  problems: ConfigProblem[];
}

/** The machine-readable form of a whole validation (`pgduck validate --json`), pretty-printed. */
export function formatProblemsJson(problems: readonly ConfigProblem[], pipelines: number): string {
  const report: ValidationReport = { valid: problems.length === 0, pipelines, problems: problems.map(problemRecord) };
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** `✓ 3 pipelines valid`, or `3 pipelines checked, 5 problems`. */
export function formatSummary(pipelines: number, problems: number): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return problems === 0 ? `✓ ${count(pipelines, 'pipeline')} valid` : `${count(pipelines, 'pipeline')} checked, ${count(problems, 'problem')}`;
}
