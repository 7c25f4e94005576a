/**
 * The module boundaries, kept by a test instead of by memory: every src/**\/*.ts is read for its
 * static imports (`import … from`, `import '…'`, `import type`), re-exports (`export … from`) and
 * dynamic `import('…')`, and the graph is checked transitively. A failure names the chain of files
 * that breaks the rule, so the fix is where the chain starts going wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../support/workspace.js';

const SRC = join(ROOT, 'src');

/** A node is a file under src/ (`src/config/x.ts`) or a package (`pkg:pg`). */
type Node = string;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** Comments removed, so that an import written in a doc comment is not counted. Strings are kept as they are. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const IMPORT_PATTERNS = [
  /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '…', import type { X } from '…', export { x } from '…', export * from '…'
  /\bimport\s*['"]([^'"]+)['"]/g, // import '…' (side effects only)
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
];

export function importsOf(text: string): string[] {
  const code = withoutComments(text);
  return [...new Set(IMPORT_PATTERNS.flatMap((re) => [...code.matchAll(re)].map((m) => m[1])))];
}

function nodeFor(specifier: string, from: string): Node {
  if (specifier.startsWith('.')) {
    const abs = resolve(dirname(from), specifier).replace(/\.js$/, '.ts');
    return relative(ROOT, abs);
  }
  const bare = specifier.replace(/^node:/, 'node:');
  const name = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0];
  return `pkg:${name}`;
}

function buildGraph(): Map<Node, Node[]> {
  const graph = new Map<Node, Node[]>();
  for (const file of sourceFiles(SRC)) {
    graph.set(
      relative(ROOT, file),
      importsOf(readFileSync(file, 'utf8')).map((s) => nodeFor(s, file)),
    );
  }
  return graph;
}

const graph = buildGraph();

/** Every node reachable from `start`, each with the chain of nodes that leads to it. */
function reach(start: Node): Map<Node, Node[]> {
  const chains = new Map<Node, Node[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const next of graph.get(at) ?? []) {
      if (chains.has(next)) continue;
      chains.set(next, [...chains.get(at)!, next]);
      queue.push(next);
    }
  }
  return chains;
}

const inFolder = (folder: string) => (node: Node) => node.startsWith(`src/${folder}/`);
const isPackage =
  (...names: string[]) =>
  (node: Node) =>
    names.some((n) => node === `pkg:${n}`);
const filesIn = (folder: string) => [...graph.keys()].filter(inFolder(folder));

/**
 * Every `from` file whose transitive imports reach a node `forbidden` accepts, by its shortest chain.
 * A file whose chain runs through another violating file is left out: the fix is further down.
 */
function violations(from: Node[], forbidden: (node: Node) => boolean): string[] {
  const shortest = new Map<Node, Node[]>();
  for (const start of from) {
    const chain = [...reach(start)].find(([node]) => node !== start && forbidden(node))?.[1];
    if (chain) shortest.set(start, chain);
  }
  return [...shortest.values()].filter((chain) => !chain.slice(1, -1).some((n) => shortest.has(n))).map((chain) => chain.join(' -> '));
}

/** Direct imports only: `from` files that import a node `forbidden` accepts. */
function directViolations(from: Node[], forbidden: (node: Node) => boolean): string[] {
  return from.flatMap((file) => (graph.get(file) ?? []).filter(forbidden).map((to) => `${file} -> ${to}`));
}

function assertNone(found: string[], rule: string): void {
  assert.deepEqual(found, [], `${rule}:\n  ${found.join('\n  ')}`);
}

test('the parser sees every kind of import', () => {
  const seen = importsOf(`
    import a from './a.js';
    import type { B } from "./b.js";
    import {
      c,
      type D,
    } from '../c.js';
    import './side-effect.js';
    export { e } from './e.js';
    export * from './f.js';
    const g = await import('./g.js');
    // import h from './commented.js';
    /** import i from './doc.js' */
    const text = 'no import here';
  `);
  assert.deepEqual(seen.sort(), ['../c.js', './a.js', './b.js', './e.js', './f.js', './g.js', './side-effect.js']);
});

test('the graph holds every source file and sees the drivers', () => {
  assert.ok(graph.size > 100, `${graph.size} files`);
  assert.ok(graph.get('src/postgres/connect.ts')?.includes('pkg:pg'));
  assert.ok(graph.get('src/cli.ts')?.includes('src/commands/validate.ts'), 'dynamic imports count');
});

test('each driver is imported only in its own folder', () => {
  const all = [...graph.keys()];
  assertNone(
    directViolations(
      all.filter((f) => !inFolder('postgres')(f)),
      isPackage('pg', 'pg-query-stream', 'pg-copy-streams'),
    ),
    'pg is imported outside src/postgres/',
  );
  assertNone(
    directViolations(
      all.filter((f) => !inFolder('duckdb')(f)),
      isPackage('@duckdb/node-api'),
    ),
    '@duckdb/node-api is imported outside src/duckdb/',
  );
  assertNone(
    directViolations(
      all.filter((f) => !inFolder('state')(f)),
      isPackage('better-sqlite3'),
    ),
    'better-sqlite3 is imported outside src/state/',
  );
});

test('src/config/ never reaches an engine: offline validation needs no Postgres, DuckDB or SQLite', () => {
  const engine = (n: Node) =>
    inFolder('postgres')(n) ||
    inFolder('duckdb')(n) ||
    inFolder('state')(n) ||
    isPackage('pg', 'pg-query-stream', 'pg-copy-streams', '@duckdb/node-api', 'better-sqlite3')(n);
  assertNone(violations(filesIn('config'), engine), 'src/config/ reaches an engine');
});

test('src/stages/ and src/runner/ never reach a command or the CLI', () => {
  const command = (n: Node) => inFolder('commands')(n) || n === 'src/cli.ts';
  assertNone(violations([...filesIn('stages'), ...filesIn('runner')], command), 'stages/runner reach commands');
});

test('src/stages/ never imports src/runner/ (the runner runs stages, not the other way round)', () => {
  assertNone(violations(filesIn('stages'), inFolder('runner')), 'src/stages/ reaches src/runner/');
});

test('src/postgres/ and src/duckdb/ never import each other', () => {
  assertNone(violations(filesIn('postgres'), inFolder('duckdb')), 'src/postgres/ reaches src/duckdb/');
  assertNone(violations(filesIn('duckdb'), inFolder('postgres')), 'src/duckdb/ reaches src/postgres/');
});

test('a command never imports another command (shared helpers live outside src/commands/)', () => {
  const commands = filesIn('commands');
  assertNone(
    commands.flatMap((file) => (graph.get(file) ?? []).filter((to) => inFolder('commands')(to) && to !== file).map((to) => `${file} -> ${to}`)),
    'a command imports another command',
  );
});

test('src/errors/ is the bottom layer: it imports nothing of pgduck but itself', () => {
  assertNone(
    violations(filesIn('errors'), (n) => n.startsWith('src/') && !inFolder('errors')(n)),
    'src/errors/ reaches other folders',
  );
});
