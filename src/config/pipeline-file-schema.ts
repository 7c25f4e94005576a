import { readFileSync } from 'node:fs';

/**
 * schema/pipeline.schema.json, the JSON Schema every pipeline file is validated against, as plain
 * data. Generated from pipeline-schema.ts (`npm run schema`; a test fails while it is stale), and
 * read here rather than rebuilt from TypeBox so validation costs no TypeBox import. Parsed once per
 * process. The path is relative to this module: src/config/ and dist/config/ both sit two levels
 * below the package root, next to schema/.
 */
export function pipelineFileSchema(): Record<string, any> {
  cached ??= JSON.parse(readFileSync(new URL('../../schema/pipeline.schema.json', import.meta.url), 'utf8')) as Record<string, any>;
  return cached;
}
let cached: Record<string, any> | undefined;

/** The `default` the schema declares at a property path (`['source', 'cursor']` → `updated_at`). */
export function schemaDefault<T>(path: readonly string[]): T {
  let node: Record<string, any> | undefined = pipelineFileSchema();
  for (const key of path) node = node?.properties?.[key];
  if (node === undefined || !('default' in node)) throw new Error(`pipeline schema declares no default at ${path.join('.')}`);
  return node.default as T;
}
