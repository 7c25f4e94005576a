/**
 * Code comments cite docs/architecture.md ("rule 3", "rules 1, 2 and 6", "docs/architecture.md#facts-duckdb"):
 * every such citation must lead to a heading of that page, so a reader who follows one finds the
 * rule or the measurement it names. And nothing cites DESIGN.md, a file outside the repository that
 * users cannot open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, sourceOf } from '../support/repo-root.js';

const DOC = 'docs/architecture.md';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped, spaces → -. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

const doc = readFileSync(join(ROOT, DOC), 'utf8');
const headings = [...doc.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]);
const anchors = new Set(headings.map(slug));
/** Rule numbers with a `## Rule N — …` heading. */
const rules = new Set(headings.flatMap((h) => /^Rule (\d+) — \S/.exec(h)?.[1] ?? []).map(Number));

interface Citation {
  at: string;
  text: string;
}

/** "rule 5", "rules 1, 2 and 6", "Rule 9" in every line of the file. */
function ruleCitations(file: string, text: string): (Citation & { rule: number })[] {
  return text
    .split('\n')
    .flatMap((line, i) =>
      [...line.matchAll(/\brules? (\d+(?:(?:, | and )\d+)*)/gi)].flatMap((m) =>
        m[1].split(/, | and /).map((n) => ({ at: `${file}:${i + 1}`, text: m[0], rule: Number(n) })),
      ),
    );
}

/** `docs/architecture.md#anchor` in every line of the file. */
function anchorCitations(file: string, text: string): (Citation & { anchor: string })[] {
  return text
    .split('\n')
    .flatMap((line, i) => [...line.matchAll(/docs\/architecture\.md#([\w-]+)/g)].map((m) => ({ at: `${file}:${i + 1}`, text: m[0], anchor: m[1] })));
}

const CODE = ['src', 'test', 'scripts', 'bin'].flatMap((d) => filesUnder(join(ROOT, d))).filter((f) => /\.(ts|cjs|js)$/.test(f));
/** This file names the patterns it looks for: it is not a citation. */
const SELF = sourceOf(import.meta.url);
const sources = CODE.map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') })).filter((s) => s.file !== SELF);

test('the page has every rule 1…10, once, and the sections code cites by anchor', () => {
  assert.deepEqual(
    [...rules].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(headings.filter((h) => /^Rule \d+ —/.test(h)).length, 10, 'a rule number used twice');
  assert.equal(anchors.size, headings.length, 'two headings with one anchor');
  assert.equal(slug('Rule 4 — Idempotent upsert, never backwards'), 'rule-4--idempotent-upsert-never-backwards');
});

test('every "rule N" in src/, test/, scripts/ and bin/ is a rule of docs/architecture.md', () => {
  const cited = sources.flatMap((s) => ruleCitations(s.file, s.text));
  assert.ok(cited.length >= 10, `only ${cited.length} rule citations found: is the pattern still right?`);
  const broken = cited.filter((c) => !rules.has(c.rule)).map((c) => `${c.at} ${c.text}`);
  assert.deepEqual(broken, []);
});

test('every docs/architecture.md#anchor, in code and in the docs themselves, is a heading there', () => {
  const inDoc = [...doc.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => ({ at: DOC, text: m[0], anchor: m[1] }));
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const cited = [...sources.flatMap((s) => anchorCitations(s.file, s.text)), ...anchorCitations('README.md', readme), ...inDoc];
  assert.ok(cited.length >= 5);
  const broken = cited.filter((c) => !anchors.has(c.anchor)).map((c) => `${c.at} ${c.text}`);
  assert.deepEqual(broken, []);
});

test('nothing cites DESIGN.md, which is not in the repository', () => {
  const readme = { file: 'README.md', text: readFileSync(join(ROOT, 'README.md'), 'utf8') };
  const citing = [...sources, readme, { file: DOC, text: doc }].flatMap((s) =>
    s.text.split('\n').flatMap((line, i) => (/DESIGN\.md/.test(line) ? [`${s.file}:${i + 1}`] : [])),
  );
  assert.deepEqual(citing, []);
});

test('the README links to docs/architecture.md before its first section', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const link = readme.indexOf('](docs/architecture.md)');
  assert.ok(link > 0 && link < readme.indexOf('\n## '), 'link missing or after the first section');
});
