import { Ajv, type ValidateFunction } from 'ajv';
import type { ConfigPath } from './config-path.js';
import { describeAjvErrors, type SchemaIssue } from './describe-ajv-errors.js';
import { pipelineFileSchema } from './pipeline-file-schema.js';
import type { PipelineFile } from './pipeline-schema.js';

let compiled: ValidateFunction<PipelineFile> | undefined;
// A copy: ajv may annotate the object it compiles, and the checked-in schema object is shared.
let jsonSchema: Record<string, any> | undefined;
const schema = () => (jsonSchema ??= structuredClone(pipelineFileSchema()));

/**
 * The compiled ajv validator for pipeline files. Compiled once per process (~30 ms) and shared by
 * every file: compiling per file would make `validate` of a directory visibly slow.
 */
export function pipelineValidator(): ValidateFunction<PipelineFile> {
  compiled ??= new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true }).compile<PipelineFile>(schema());
  return compiled;
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
