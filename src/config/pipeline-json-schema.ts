import { PipelineFileSchema } from './pipeline-schema.js';

export const JSON_SCHEMA_DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/**
 * The pipeline JSON Schema as plain data: the TypeBox schema without its symbol keys, plus the
 * draft-07 `$schema` and a title. This one object is both what ajv compiles and what
 * schema/pipeline.schema.json holds, so editors and `pgduck validate` judge a file by the same rules.
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(PipelineFileSchema)) as Record<string, unknown>;
  return { $schema: JSON_SCHEMA_DRAFT_07, title: 'pgduck pipeline', ...plain };
}

/** The exact text of schema/pipeline.schema.json (pretty JSON, trailing newline). */
export function renderPipelineJsonSchema(): string {
  return `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
}
