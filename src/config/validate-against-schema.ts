import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { ConfigPath } from './config-path.js';
import { describeAjvErrors, type SchemaIssue } from './describe-ajv-errors.js';
import { pipelineFileSchema } from './pipeline-file-schema.js';
import type { PipelineFile } from './pipeline-schema.js';

let loaded: ValidateFunction<PipelineFile> | undefined;
const schema = () => pipelineFileSchema();

/**
 * The ajv validator for pipeline files, precompiled by `npm run schema` (schema/pipeline.validate.cjs,
 * src/config/render-validator.ts) so no command loads ajv's compiler or compiles the schema (~30 ms
 * and more). Loaded once per process and shared by every file. The path is relative to this module:
 * src/config/ and dist/config/ both sit two levels below the package root, next to schema/.
 */
export function pipelineValidator(): ValidateFunction<PipelineFile> {
  loaded ??= createRequire(import.meta.url)('../../schema/pipeline.validate.cjs') as ValidateFunction<PipelineFile>;
  return loaded;
}

/**
 * Checks interpolated pipeline data against the JSON Schema, reporting every violation. Fills in
 * defaults IN PLACE (ajv useDefaults), so after a clean result `data` holds every defaulted field.
 */
export function validateAgainstSchema(data: unknown, fromEnv?: ReadonlyMap<string, readonly string[]>): SchemaIssue[] {
  const validate = pipelineValidator();
  if (validate(data)) return [];
  return describeAjvErrors(validate.errors ?? [], data, { fromEnv });
}

/**
 * The JSON type the schema expects at a data path (`['batch_size']` → `integer`), or undefined
 * when the path is unknown or allows several types.
 */
export function schemaTypeAt(path: ConfigPath): string | undefined {
  let node: Record<string, any> | undefined = schema();
  for (const segment of path) {
    if (!node) return undefined;
    node = typeof segment === 'number' ? node.items : node.properties?.[segment];
  }
  return typeof node?.type === 'string' ? node.type : undefined;
}
