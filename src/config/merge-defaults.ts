/**
 * How a pipeline file inherits its directory's `_defaults.yml`, as pure functions on parsed data:
 * the merge, where each merged value came from (so a problem is reported in the file that wrote
 * the value), and which fields were inherited (what `pgduck plan` shows). Rules: mappings are
 * merged key by key, at any depth; anything else (a list such as primary_key, a single value, a
 * null) written in the pipeline file replaces the default whole, never concatenated with it.
 */
import { formatConfigPath, type ConfigPath } from './config-path.js';

type Mapping = Record<string, unknown>;

const isMapping = (value: unknown): value is Mapping => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The pipeline file's data over the defaults' data. Neither is changed; the pipeline's key order comes first. */
export function mergeDefaults(defaults: Mapping, pipeline: Mapping): Mapping {
  const merged: Mapping = {};
  for (const [key, value] of Object.entries(pipeline)) {
    const inherited = defaults[key];
    merged[key] = isMapping(value) && isMapping(inherited) ? mergeDefaults(inherited, value) : value;
  }
  for (const [key, value] of Object.entries(defaults)) if (!Object.hasOwn(pipeline, key)) merged[key] = value;
  return merged;
}

/**
 * Which file wrote the merged value at `path`: the defaults when the pipeline file does not write
 * it (nor anything that replaces it) and the defaults do. Anything neither writes (a required
 * field that is missing) is the pipeline file's to fix.
 */
export function originOf(path: ConfigPath, pipeline: Mapping, defaults: Mapping): 'pipeline' | 'defaults' {
  let mine: unknown = pipeline;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    if (isMapping(mine) && Object.hasOwn(mine, String(segment))) {
      mine = mine[String(segment)];
      // A list or a single value written here replaces the default whole, items included.
      if (!isMapping(mine)) return 'pipeline';
      continue;
    }
    return has(defaults, path) ? 'defaults' : 'pipeline';
  }
  return 'pipeline';
}

/** The formatted paths of the values the merge took from the defaults (`schedule`, `horizon.margin_ms`), in the defaults' order. */
export function inheritedFields(defaults: Mapping, pipeline: Mapping): string[] {
  const fields: string[] = [];
  const walk = (node: Mapping, path: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      if (at.length === 1 && key === '$schema') continue; // an editor hint, not a setting
      if (isMapping(value) && Object.keys(value).length > 0) walk(value, at);
      else if (originOf(at, pipeline, defaults) === 'defaults') fields.push(formatConfigPath(at));
    }
  };
  walk(defaults, []);
  return fields;
}

function has(data: unknown, path: ConfigPath): boolean {
  let node = data;
  for (const segment of path) {
    if (isMapping(node) && Object.hasOwn(node, String(segment))) node = node[String(segment)];
    else if (Array.isArray(node) && typeof segment === 'number' && segment < node.length) node = node[segment];
    else return false;
  }
  return true;
}
