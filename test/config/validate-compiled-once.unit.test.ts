// Its own file, so the first validate in this process is cold: it includes loading the precompiled
// validator (schema/pipeline.validate.cjs).
// How long it takes is a measurement, not a test (a shared CPU makes any bound flaky):
// `npm run bench:validate` prints it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pipelineValidator } from '../../src/config/validate-against-schema.js';
import { captureValidate } from './capture-validate.js';
import { FIVE_PIPELINES_ENV, writeFivePipelines } from './five-pipelines.js';

const dir = mkdtempSync(join(tmpdir(), 'pgduck-speed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('five files validate, with the validator loaded once per process', async () => {
  writeFivePipelines(dir);
  const first = await captureValidate([dir], { json: false, env: FIVE_PIPELINES_ENV });
  assert.equal(first.code, 0);
  assert.equal(first.output, '✓ 5 pipelines valid\n');

  const validator = pipelineValidator();
  const again = await captureValidate([dir], { json: false, env: FIVE_PIPELINES_ENV });
  assert.equal(again.output, '✓ 5 pipelines valid\n');
  assert.equal(pipelineValidator(), validator, 'the precompiled validator is loaded once per process');
});
