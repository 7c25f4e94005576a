import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { defaultsJsonSchema, renderDefaultsJsonSchema } from '../../src/config/defaults-json-schema.js';
import { JSON_SCHEMA_DRAFT_07, pipelineJsonSchema, renderPipelineJsonSchema } from '../../src/config/pipeline-json-schema.js';
import { DEFAULTS_AJV_OPTIONS, PIPELINE_AJV_OPTIONS, renderValidator } from '../../src/config/render-validator.js';
import { repoRoot } from './capture-validate.js';

const checkedIn = () => readFileSync(new URL('schema/pipeline.schema.json', `file://${repoRoot}`), 'utf8');

test('schema/pipeline.schema.json is what scripts/gen-schema.ts generates (run `npm run schema` if not)', () => {
  assert.equal(checkedIn(), renderPipelineJsonSchema(), 'schema/pipeline.schema.json is stale: run `npm run schema` and commit the result');
});

test('schema/defaults.schema.json is what scripts/gen-schema.ts generates (run `npm run schema` if not)', () => {
  const text = readFileSync(new URL('schema/defaults.schema.json', `file://${repoRoot}`), 'utf8');
  assert.equal(text, renderDefaultsJsonSchema(), 'schema/defaults.schema.json is stale: run `npm run schema` and commit the result');
});

test('schema/pipeline.validate.cjs is the validator ajv compiles from the schema now (run `npm run schema` if not)', () => {
  const text = readFileSync(new URL('schema/pipeline.validate.cjs', `file://${repoRoot}`), 'utf8');
  const fresh = renderValidator(pipelineJsonSchema(), PIPELINE_AJV_OPTIONS, 'schema/pipeline.schema.json');
  assert.ok(text === fresh, 'schema/pipeline.validate.cjs is stale: run `npm run schema` and commit the result');
});

test('schema/defaults.validate.cjs is the validator ajv compiles from the schema now (run `npm run schema` if not)', () => {
  const text = readFileSync(new URL('schema/defaults.validate.cjs', `file://${repoRoot}`), 'utf8');
  const fresh = renderValidator(defaultsJsonSchema(), DEFAULTS_AJV_OPTIONS, 'schema/defaults.schema.json');
  assert.ok(text === fresh, 'schema/defaults.validate.cjs is stale: run `npm run schema` and commit the result');
});

test('the precompiled validators judge like ajv compiling the schema: same verdict, same errors, same defaults filled in', () => {
  const require = createRequire(`${repoRoot}test/config/`);
  const cases: unknown[] = [
    { source: { table: 'public.orders', primary_key: 'id' }, target: { table: 'orders' } },
    { source: { table: 'x', primary_key: ['a', 'b'], bogus: 1 }, target: { table: 'y' }, batch_size: 'many', schedule: 5 },
    { source: { table: '' }, target: {}, horizon: { margin_ms: -1 }, extra: true },
    { batch_size: 0, source: { cursor: 'v' } },
    'not a mapping',
  ];
  for (const [file, schema, options] of [
    ['pipeline.validate.cjs', pipelineJsonSchema(), PIPELINE_AJV_OPTIONS],
    ['defaults.validate.cjs', defaultsJsonSchema(), DEFAULTS_AJV_OPTIONS],
  ] as const) {
    const precompiled = require(`../../schema/${file}`) as ValidateFunction;
    const compiled = new Ajv(options).compile(structuredClone(schema));
    for (const data of cases) {
      const a = structuredClone(data);
      const b = structuredClone(data);
      assert.equal(precompiled(a), compiled(b), `${file}: ${JSON.stringify(data)}`);
      assert.deepEqual(precompiled.errors ?? null, compiled.errors ?? null, `${file}: errors of ${JSON.stringify(data)}`);
      assert.deepEqual(a, b, `${file}: defaults filled into ${JSON.stringify(data)}`);
    }
  }
});

test('the defaults schema is the pipeline schema with nothing required and without the fields that name one table', () => {
  const defaults = JSON.parse(readFileSync(new URL('schema/defaults.schema.json', `file://${repoRoot}`), 'utf8'));
  const pipeline = JSON.parse(checkedIn());
  assert.equal(defaults.$schema, JSON_SCHEMA_DRAFT_07);
  assert.equal(defaults.title, 'pgduck shared defaults');
  assert.equal(defaults.additionalProperties, false);
  assert.deepEqual(Object.keys(defaults.properties), Object.keys(pipeline.properties));
  assert.deepEqual(
    Object.keys(defaults.properties.source.properties),
    Object.keys(pipeline.properties.source.properties).filter((k) => k !== 'table' && k !== 'primary_key'),
  );
  assert.deepEqual(Object.keys(defaults.properties.target.properties), ['schema', 'duckdb_path', 'key_index']);
  assert.equal(JSON.stringify(defaults).includes('"required"'), false, 'nothing is required in shared defaults');
  assert.deepEqual(defaults.properties.batch_size, pipeline.properties.batch_size, 'a shared field is checked exactly as in a pipeline file');
  const validate = new Ajv({ strict: true, allErrors: true }).compile(defaults);
  assert.equal(validate({ schedule: '0 * * * *', source: { cursor: 'v' }, horizon: { margin_ms: 5 } }), true);
  assert.equal(validate({ source: { table: 'x' } }), false);
  assert.equal(validate({ batch_size: 0 }), false);
});

test('the checked-in schema is a draft-07 schema with a title, and ajv compiles it strictly', () => {
  const schema = JSON.parse(checkedIn());
  assert.equal(schema.$schema, JSON_SCHEMA_DRAFT_07);
  assert.equal(schema.title, 'pgduck pipeline');
  assert.deepEqual(schema.required, ['source', 'target']);
  new Ajv({ strict: true, allErrors: true }).compile(schema);
});

test('every field has a description that states its default (or that it is required), matching the schema default', () => {
  const schema = JSON.parse(checkedIn());
  const fields: string[] = [];
  const walk = (node: Record<string, any>, path: string) => {
    const required = new Set<string>(node.required ?? []);
    for (const [key, child] of Object.entries<Record<string, any>>(node.properties ?? {})) {
      const at = path ? `${path}.${key}` : key;
      fields.push(at);
      assert.equal(typeof child.description, 'string', `${at} has no description`);
      if (required.has(key)) {
        assert.match(child.description, /Required\.$/, `${at} is required: its description says so`);
        assert.ok(!('default' in child), `${at} is required and cannot have a default`);
      } else {
        assert.match(child.description, /Default: [^.]/, `${at} is optional: its description states the default`);
        if ('default' in child && typeof child.default !== 'object') {
          const shown = String(child.default);
          assert.ok(
            child.description.includes(`Default: \`${shown}\``) || child.description.includes(`Default: ${shown}.`),
            `${at}: description and default (${shown}) agree`,
          );
        }
      }
      if (child.type === 'object') walk(child, at);
    }
  };
  walk(schema, '');
  assert.ok(fields.length >= 17, `walked ${fields.length} fields`);
});

test('every shipped pipeline file starts with the yaml-language-server $schema comment', () => {
  const dir = new URL('pipelines/', `file://${repoRoot}`);
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length > 0);
  for (const file of files) {
    const first = readFileSync(new URL(file, dir), 'utf8').split('\n')[0];
    // Shared defaults (`_defaults.yml`) have a schema of their own.
    const schema = file.startsWith('_defaults.') ? 'defaults' : 'pipeline';
    assert.equal(first, `# yaml-language-server: $schema=../schema/${schema}.schema.json`, `pipelines/${file}`);
  }
});
