/**
 * The SQL pgduck sends is ASCII. Postgres converts a query's text to the server's encoding, and a
 * character the encoding lacks fails the query: an ellipsis in a comment of the column introspection
 * made every run against a LATIN1 database fail (found by review). This scans src/ for SQL template
 * literals (text opening with a statement keyword) holding any other character.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../support/repo-root.js';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const SQL_LITERAL = /`\s*(?:SELECT|WITH|INSERT|UPDATE|DELETE|COPY|CREATE|ALTER|DROP|BEGIN|SET|COMMENT)\b[^`]*`/g;

/** Files whose SQL may hold other characters, and why. */
const EXEMPT: Record<string, string> = {
  'src/postgres/seed-changes.ts': "the demo's changes: text data for the demo's own UTF8 server",
  'src/init/propose-pipeline.ts': 'SQL shown to people as a hint (a placeholder `(…)`), never run',
  'src/schema/type-map.ts': "the type table's notes (README), never run",
};

/** A match inside a comment (a code span in prose, `ALTER TYPE … RENAME VALUE`) is not SQL that runs. */
function inComment(text: string, at: number): boolean {
  const line = text.slice(text.lastIndexOf('\n', at) + 1, at);
  return /^\s*(\*|\/\/|\/\*)/.test(line) || line.includes('//');
}

test('every SQL template literal in src/ is ASCII', () => {
  const root = ROOT;
  const offending: string[] = [];
  let seen = 0;
  for (const file of files(join(root, 'src'))) {
    if (relative(root, file) in EXEMPT) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SQL_LITERAL)) {
      if (inComment(text, m.index ?? 0)) continue;
      seen++;
      const bad = [...m[0]].find((ch) => ch.charCodeAt(0) > 0x7f);
      if (bad) offending.push(`${relative(root, file)}: ${JSON.stringify(bad)} in ${m[0].slice(0, 60).replace(/\s+/g, ' ')}…`);
    }
  }
  assert.ok(seen > 50, `the scan found SQL literals (${seen})`);
  assert.deepEqual(offending, []);
});
