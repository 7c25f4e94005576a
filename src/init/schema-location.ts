/**
 * Where the pipeline JSON Schema of this pgduck installation is, and how a pipeline file in a given
 * directory points at it: a relative path, so the `$schema` line needs no network and resolves in a
 * clone (`../schema/pipeline.schema.json` from pipelines/) and in an installed package
 * (`…/node_modules/pgduck/schema/pipeline.schema.json`) alike.
 */
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** schema/pipeline.schema.json of the running pgduck (src/init/ and dist/init/ are both two levels down). */
export const PIPELINE_SCHEMA_FILE = fileURLToPath(new URL('../../schema/pipeline.schema.json', import.meta.url));

/** The `$schema` path for a file written into `dir`: relative, with forward slashes. */
export function schemaPathFrom(dir: string, schemaFile: string = PIPELINE_SCHEMA_FILE): string {
  const rel = relative(resolve(dir), schemaFile).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** The file a `$schema` path written in `file` points at. */
export function resolveSchemaPath(file: string, schemaPath: string): string {
  return resolve(dirname(file), schemaPath);
}
