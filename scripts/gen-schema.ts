/**
 * Writes schema/pipeline.schema.json from the TypeBox schema in src/config/pipeline-schema.ts, and
 * schema/defaults.schema.json (shared defaults, `_defaults.yml`) derived from it, then the
 * precompiled ajv validator of each (schema/pipeline.validate.cjs, schema/defaults.validate.cjs:
 * src/config/render-validator.ts), which `pgduck` loads instead of compiling the schemas at runtime.
 * Run after any change to that file: `npm run schema`. test/config/schema-fresh.unit.test.ts fails
 * while a checked-in copy is stale. `--check` only compares (exit 1 when stale), for CI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultsJsonSchema, renderDefaultsJsonSchema } from '../src/config/defaults-json-schema.js';
import { pipelineJsonSchema, renderPipelineJsonSchema } from '../src/config/pipeline-json-schema.js';
import { DEFAULTS_AJV_OPTIONS, PIPELINE_AJV_OPTIONS, renderValidator } from '../src/config/render-validator.js';

const check = process.argv.includes('--check');
let stale = false;
for (const [name, text] of [
  ['pipeline.schema.json', renderPipelineJsonSchema()],
  ['defaults.schema.json', renderDefaultsJsonSchema()],
  ['pipeline.validate.cjs', renderValidator(pipelineJsonSchema(), PIPELINE_AJV_OPTIONS, 'schema/pipeline.schema.json')],
  ['defaults.validate.cjs', renderValidator(defaultsJsonSchema(), DEFAULTS_AJV_OPTIONS, 'schema/defaults.schema.json')],
] as const) {
  const target = fileURLToPath(new URL(`../schema/${name}`, import.meta.url));
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) {
    process.stdout.write(`schema/${name} is up to date\n`);
  } else if (check) {
    process.stderr.write(`schema/${name} is stale: run \`npm run schema\`\n`);
    stale = true;
  } else {
    writeFileSync(target, text);
    process.stdout.write(`wrote schema/${name}\n`);
  }
}
if (stale) process.exit(1);
