/**
 * The repository root, for tests that read the project's own files (pipelines/, schema/, docs/) or
 * start its executables. Found by walking up to package.json rather than a fixed `../../`: `npm test`
 * runs the test files compiled into .test-build/ (one level deeper), `node --test --import tsx` runs
 * them where they are.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The root, with a trailing slash (so `new URL('schema/x', \`file://${ROOT}\`)` lands inside it). */
export const ROOT = `${findRoot(dirname(fileURLToPath(import.meta.url)))}/`;

/** The folder the compiled test files go to (tsconfig.test.json's outDir). */
export const TEST_BUILD_DIR = '.test-build';

/**
 * A test file's source, relative to the root (`test/x/y.test.ts`), from its `import.meta.url`,
 * compiled (.test-build/test/x/y.test.js) or not.
 */
export function sourceOf(importMetaUrl: string): string {
  const path = relative(ROOT, fileURLToPath(importMetaUrl));
  return path.startsWith(`${TEST_BUILD_DIR}/`) ? path.slice(TEST_BUILD_DIR.length + 1).replace(/\.js$/, '.ts') : path;
}
