/**
 * The test files as JavaScript, for `npm test` (scripts/run-tests.ts): each file of test/ is
 * transpiled once into .test-build/test/ (TypeScript's transpileModule: types removed, nothing
 * checked; `npm run typecheck` checks test/), and only when its source is newer than its output.
 *
 * Why: under `--import tsx` every test file's process paid for the loader (its worker thread, a
 * round trip per module it imports): measured ~0.8 s of CPU per file, ~100 s for the whole suite.
 *
 * `.test-build/src` is a link to dist/, which `npm test` builds first: the test files import
 * `../../src/x.js` and so load the same compiled modules the CLI runs, at their real path (Node
 * resolves the link), where the modules that find their files relative to themselves (schema/,
 * package.json) find them. Files a test reads it finds through test/support/repo-root.ts.
 *
 * `node --test --import tsx test/x.test.ts` still runs a file from its source, as before.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
// tsconfig.test.json's outDir, relative to the root: one name, which test files use to find their source.
import { TEST_BUILD_DIR } from '../test/support/repo-root.js';

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  inlineSourceMap: true,
  inlineSources: true,
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

function jsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

/** Where a source file's JavaScript goes: test/x/y.test.ts → .test-build/test/x/y.test.js. */
export function compiledPath(root: string, source: string): string {
  return join(root, TEST_BUILD_DIR, relative(root, source).replace(/\.ts$/, '.js'));
}

/**
 * Transpiles test/ and the given scripts into .test-build/ (the stale files only), removes the
 * outputs whose source is gone, links .test-build/src to dist/. Returns how many files it wrote.
 */
export function compileTests(root: string, scripts: string[] = []): number {
  const out = join(root, TEST_BUILD_DIR);
  // Outputs of other options (or another TypeScript) are not up to date, whatever their time.
  const stamp = join(out, '.options.json');
  const options = JSON.stringify({ typescript: ts.version, OPTIONS });
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== options) {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    writeFileSync(stamp, options);
  }
  const sources = [...tsFiles(join(root, 'test')), ...scripts.map((s) => join(root, s))];
  const wanted = new Set(sources.map((s) => compiledPath(root, s)));
  let written = 0;
  for (const source of sources) {
    const target = compiledPath(root, source);
    if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) continue;
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(source, 'utf8'), {
      // sourceRoot: the map names the .ts where it is, not next to the output.
      compilerOptions: { ...OPTIONS, sourceRoot: `${dirname(source)}/` },
      fileName: source,
      reportDiagnostics: true,
    });
    if (diagnostics?.length)
      throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    written++;
  }
  // A deleted or renamed test must not keep running from its old output.
  for (const stale of [...jsFiles(join(out, 'test')), ...jsFiles(join(out, 'scripts'))]) if (!wanted.has(stale)) rmSync(stale);
  const link = join(out, 'src');
  const linkTarget = join('..', 'dist');
  if (!isLinkTo(link, linkTarget)) {
    rmSync(link, { recursive: true, force: true });
    symlinkSync(linkTarget, link, 'dir');
  }
  return written;
}

function isLinkTo(path: string, target: string): boolean {
  try {
    return readlinkSync(path) === target;
  } catch {
    return false;
  }
}
