/**
 * stateLiveFindings, without a database (the check is given): each pipeline's findings once per
 * process, what the runner says itself left out, a check that could not connect tried again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { stateLiveFindings } from '../../src/live/state-live-findings.js';
import type { LiveCheck, LiveFinding } from '../../src/live/live-finding.js';
import type { ResolvedPipeline } from '../../src/config/resolved-pipeline.js';

const pipeline = (name: string) => ({ spec: { name }, connection: 'postgres://x@h/db' }) as unknown as ResolvedPipeline;
const finding = (name: string, check: LiveCheck, severity: 'error' | 'warning' = 'warning'): LiveFinding => ({
  check,
  severity,
  pipelines: [name],
  file: `pipelines/${name}.yml`,
  line: 2,
  col: 3,
  path: 'source.cursor',
  column: 'updated_at',
  message: `${check} finding`,
  fix: check === 'index' ? 'CREATE INDEX …;' : null,
});

function setup(results: (names: string[]) => LiveFinding[]) {
  let out = '';
  const log = pino({ level: 'debug', base: undefined }, { write: (l: string) => void (out += l) });
  const asked: string[][] = [];
  const stater = stateLiveFindings(log, async (ps) => {
    const names = ps.map((p) => p.spec.name);
    asked.push(names);
    return results(names);
  });
  const lines = () =>
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string; pipeline?: string; check?: string });
  return { stater, asked, lines };
}

test('each pipeline is checked and stated once, errors at error level, warnings at warn, with the fix', async () => {
  const { stater, asked, lines } = setup((names) =>
    names.flatMap((n) => [finding(n, 'index'), finding(n, 'primary-key', 'error'), finding(n, 'stats', 'error')]),
  );
  await stater.afterSuccess([pipeline('a'), pipeline('b')]);
  await stater.afterSuccess([pipeline('a')]);
  void stater.afterSuccess([pipeline('b'), pipeline('c')]);
  await stater.settled();
  assert.deepEqual(asked, [['a', 'b'], ['c']]);
  const stated = lines().map((l) => `${l.pipeline} ${l.check} ${l.level}`);
  assert.deepEqual(stated, ['a index 40', 'a primary-key 50', 'b index 40', 'b primary-key 50', 'c index 40', 'c primary-key 50']);
  assert.match(lines()[0].msg, /^pipelines\/a\.yml:2:3 source\.cursor: warning: a: index finding\n {4}CREATE INDEX …;$/);
});

test('a check that could not connect says nothing and is tried after the next success', async () => {
  let reachable = false;
  const { stater, asked, lines } = setup((names) => (reachable ? names.map((n) => finding(n, 'cursor')) : names.map((n) => finding(n, 'connect', 'error'))));
  await stater.afterSuccess([pipeline('a')]);
  assert.deepEqual(lines(), []);
  reachable = true;
  await stater.afterSuccess([pipeline('a')]);
  await stater.afterSuccess([pipeline('a')]);
  assert.deepEqual(asked, [['a'], ['a']]);
  assert.deepEqual(
    lines().map((l) => `${l.pipeline} ${l.check}`),
    ['a cursor'],
  );
});

test('a check that throws is logged at debug and never reaches the caller', async () => {
  let out = '';
  const log = pino({ level: 'debug', base: undefined }, { write: (l: string) => void (out += l) });
  const stater = stateLiveFindings(log, async () => {
    throw new Error('boom');
  });
  await stater.afterSuccess([pipeline('a')]);
  await stater.settled();
  assert.match(out, /"level":20.*live checks of the source failed/);
});
