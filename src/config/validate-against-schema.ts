import { Ajv, type ValidateFunction } from 'ajv';
import { describeAjvErrors, type SchemaIssue } from './describe-ajv-errors.js';
import { pipelineJsonSchema } from './pipeline-json-schema.js';
import type { PipelineFile } from './pipeline-schema.js';

let compiled: ValidateFunction<PipelineFile> | undefined;

/**
 * The compiled ajv validator for pipeline files. Compiled once per process (~30 ms) and shared by
 * every file: compiling per file would make `validate` of a directory visibly slow.
 */
export function pipelineValidator(): ValidateFunction<PipelineFile> {
  compiled ??= new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true }).compile<PipelineFile>(pipelineJsonSchema());
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
