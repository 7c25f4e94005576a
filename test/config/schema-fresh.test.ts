import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { JSON_SCHEMA_DRAFT_07, renderPipelineJsonSchema } from '../../src/config/pipeline-json-schema.js';
import { repoRoot } from './capture-validate.js';

const checkedIn = () => readFileSync(new URL('schema/pipeline.schema.json', `file://${repoRoot}`), 'utf8');

test('schema/pipeline.schema.json is what scripts/gen-schema.ts generates (run `npm run schema` if not)', () => {
  assert.equal(checkedIn(), renderPipelineJsonSchema(), 'schema/pipeline.schema.json is stale: run `npm run schema` and commit the result');
});

test('the checked-in schema is a draft-07 schema with a title, and ajv compiles it strictly', () => {
  const schema = JSON.parse(checkedIn());
  assert.equal(schema.$schema, JSON_SCHEMA_DRAFT_07);
  assert.equal(schema.title, 'pgduck pipeline');
  assert.deepEqual(schema.required, ['source', 'target']);
  new Ajv({ strict: true, allErrors: true }).compile(schema);
});
