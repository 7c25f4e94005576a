/**
 * Writes schema/pipeline.schema.json from the TypeBox schema in src/config/pipeline-schema.ts.
 * Run after any change to that file: `npm run schema`. test/config/schema-fresh.unit.test.ts fails
 * while the checked-in copy is stale. `--check` only compares (exit 1 when stale), for CI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderPipelineJsonSchema } from '../src/config/pipeline-json-schema.js';

const target = fileURLToPath(new URL('../schema/pipeline.schema.json', import.meta.url));
const text = renderPipelineJsonSchema();
let current: string | undefined;
try {
  current = readFileSync(target, 'utf8');
} catch {
  current = undefined;
}

if (process.argv.includes('--check')) {
  if (current !== text) {
    process.stderr.write('schema/pipeline.schema.json is stale: run `npm run schema`\n');
    process.exit(1);
  }
  process.stdout.write('schema/pipeline.schema.json is up to date\n');
} else if (current === text) {
  process.stdout.write('schema/pipeline.schema.json is up to date\n');
} else {
  writeFileSync(target, text);
  process.stdout.write('wrote schema/pipeline.schema.json\n');
}
