/**
 * `pgduck plan` prints what runs: the steps it prints (as JSON and as text) are exactly the steps
 * compile() gives the runner, in order, each with all of its SQL. No database.
 */
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { compile } from '../../src/runner/compile.js';
import { formatPlan, printedPlan } from '../../src/commands/plan.js';
import { STAGE_ORDER } from '../../src/stages/registry.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { ROOT } from '../support/repo-root.js';

const pipelinesDir = join(ROOT, 'pipelines');

function specs(): PipelineSpec[] {
  const { specs, problems } = loadPipelines([pipelinesDir], {}, 'lake/warehouse.duckdb');
  assert.deepEqual(problems, []);
  assert.ok(specs.length >= 4);
  // One more, with its own connection string holding a password the plan must never print.
  const secret: PipelineSpec = { ...specs[0], name: 'remote', source: { ...specs[0].source, connection: 'postgres://app:s3cr3t-pw@db.internal:5432/app' } };
  return [...specs, secret];
}

test('the printed plan (JSON) has exactly the steps compile() gives the runner, and not the spec', () => {
  for (const spec of specs()) {
    const plan = compile(spec, { duckdbPath: 'lake/warehouse.duckdb', parquetDir: 'parquet' });
    assert.deepEqual(
      plan.steps.map((s) => s.stage),
      STAGE_ORDER,
      spec.name,
    );
    const printed = JSON.parse(JSON.stringify(printedPlan(plan)));
    assert.deepEqual(printed.steps, JSON.parse(JSON.stringify(plan.steps)), spec.name);
    assert.equal('spec' in printed, false);
    assert.doesNotMatch(JSON.stringify(printed), /s3cr3t/);
  }
});

test('the printed plan (text) numbers the same steps in the same order, each with every SQL text it runs', () => {
  for (const spec of specs()) {
    const plan = compile(spec, { duckdbPath: 'lake/warehouse.duckdb', parquetDir: 'parquet' });
    const text = formatPlan(plan);
    const listed = [...text.matchAll(/^ {4}(\d+)\. (\S+)/gm)].map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(
      listed,
      plan.steps.map((s, i) => [i + 1, s.stage]),
      spec.name,
    );
    for (const step of plan.steps) {
      const sql = typeof step.sql === 'string' ? [step.sql] : Object.values(step.sql ?? {});
      for (const s of sql)
        assert.ok(
          text.includes(
            s
              .split('\n')
              .map((l) => `         ${l}`)
              .join('\n'),
          ),
          `${spec.name} ${step.stage}: ${s}`,
        );
      if (step.when) assert.ok(text.includes(`when: ${step.when}`), `${spec.name} ${step.stage} says when it acts`);
    }
    assert.doesNotMatch(text, /s3cr3t/);
  }
});
