import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProblem, formatProblems, formatProblemsJson, formatSummary } from '../../src/config/format-problems.js';

const problem = { file: 'pipelines/a.yml', line: 3, col: 16, path: 'source.primary_key', message: 'must be a string' };

test('file:line:col path: message, and no path for whole-file problems', () => {
  assert.equal(formatProblem(problem), 'pipelines/a.yml:3:16 source.primary_key: must be a string');
  assert.equal(formatProblem({ ...problem, line: 1, col: 1, path: '', message: 'the file is empty' }), 'pipelines/a.yml:1:1: the file is empty');
  assert.equal(formatProblems([problem, problem]), `${formatProblem(problem)}\n${formatProblem(problem)}\n`);
  assert.equal(formatProblems([]), '');
});

test('the JSON report', () => {
  assert.deepEqual(JSON.parse(formatProblemsJson([problem], 4)), { valid: false, pipelines: 4, problems: [problem] });
  assert.deepEqual(JSON.parse(formatProblemsJson([], 2)), { valid: true, pipelines: 2, problems: [] });
});

test('summary line', () => {
  assert.equal(formatSummary(3, 0), '✓ 3 pipelines valid');
  assert.equal(formatSummary(1, 0), '✓ 1 pipeline valid');
  assert.equal(formatSummary(3, 5), '3 pipelines checked, 5 problems');
  assert.equal(formatSummary(1, 1), '1 pipeline checked, 1 problem');
});
