// Every pipeline the project ships is itself a test: pipelines/*.yml must validate clean.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatProblems } from '../../src/config/format-problems.js';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { useRepoRoot } from './capture-validate.js';

useRepoRoot();
// Listed at test time: another engineer may be adding files right now, and the directory may be empty.
const files = existsSync('pipelines')
  ? readdirSync('pipelines')
      // `_defaults.yml` (shared defaults) is not a pipeline: it is checked with every file that inherits it.
      .filter((f) => /\.ya?ml$/i.test(f) && !f.startsWith('.') && !f.startsWith('_'))
      .sort()
      .map((f) => `pipelines/${f}`)
  : [];

// Shipped pipelines may read connection strings from the environment (`${DATABASE_URL}`); give
// variables referenced without a default a placeholder, so this checks the files, not the machine.
const shared = existsSync('pipelines') ? readdirSync('pipelines').filter((f) => f.startsWith('_') && /\.ya?ml$/i.test(f)) : [];
const referenced = [...files, ...shared.map((f) => `pipelines/${f}`)].flatMap((f) =>
  [...readFileSync(f, 'utf8').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]),
);
const env: NodeJS.ProcessEnv = { ...process.env };
for (const name of referenced) env[name] ??= 'placeholder';

test('every pipeline in pipelines/ validates clean', { skip: files.length === 0 && 'pipelines/ has no YAML files yet' }, () => {
  const { specs, problems } = loadPipelines(files, env);
  assert.equal(formatProblems(problems), '', 'pipelines/ has problems');
  assert.equal(specs.length, files.length);
});

for (const file of files) {
  test(`${file} validates clean`, () => {
    const { problems } = loadPipelines([file], env);
    assert.equal(formatProblems(problems), '');
  });
}
