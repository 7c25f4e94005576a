/** A field path inside one pipeline file: map keys and sequence indexes, outermost first. */
export type ConfigPath = readonly (string | number)[];

/** `['source', 'primary_key', 1]` → `source.primary_key[1]`; the empty path (whole file) → ``. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/**
 * An ajv instancePath (JSON Pointer, `/source/primary_key/1`) as a ConfigPath. Segments that index
 * an array in `data` become numbers, so `[1]` is printed for list items and `.1` for a map key "1".
 */
export function pointerToConfigPath(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      path.push(Number(key));
      node = node[Number(key)];
    } else {
      path.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}
