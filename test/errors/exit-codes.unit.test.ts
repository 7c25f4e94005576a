/** The kind → exit code table, and the README's "Exit codes" table saying the same. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KIND_OUTCOMES, exitCodeFor } from '../../src/errors/exit-codes.js';
import { ERROR_KINDS } from '../../src/errors/pgduck-error.js';
import { decodeFailure, encodeFailure } from '../../src/errors/recorded-failure.js';
import { ROOT } from '../support/workspace.js';

test('each kind has its own exit code', () => {
  assert.deepEqual(Object.fromEntries(ERROR_KINDS.map((k) => [k, KIND_OUTCOMES[k].exitCode])), {
    transient: 75,
    'needs-action': 4,
    config: 3,
    usage: 2,
    internal: 1,
  });
  assert.equal(new Set(ERROR_KINDS.map((k) => KIND_OUTCOMES[k].exitCode)).size, ERROR_KINDS.length);
});

test('several failures exit with the kind most in need of a person; 75 only when all were transient', () => {
  assert.equal(exitCodeFor([]), 0);
  assert.equal(exitCodeFor(['transient', 'transient']), 75);
  assert.equal(exitCodeFor(['transient', 'internal']), 1);
  assert.equal(exitCodeFor(['internal', 'needs-action', 'transient']), 4);
  assert.equal(exitCodeFor(['needs-action', 'config']), 3);
  assert.equal(exitCodeFor(['config', 'usage']), 2);
});

test('README "Exit codes" lists every kind with its code', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Exit codes'));
  assert.ok(readme.includes('## Exit codes'));
  for (const kind of ERROR_KINDS) {
    assert.match(section, new RegExp(`^\\| ${KIND_OUTCOMES[kind].exitCode} \\| ${kind} \\|`, 'm'), `README row for ${kind}`);
  }
});

test("a failure's kind and code travel in the state store's error text, and old text reads back without them", () => {
  const text = encodeFailure({
    kind: 'transient',
    code: 'PG_CONNECTION_LOST',
    message: 'pipeline a failed in extract (batch 2): the connection to Postgres was lost (x)',
  });
  assert.deepEqual(decodeFailure(text), {
    kind: 'transient',
    code: 'PG_CONNECTION_LOST',
    message: 'pipeline a failed in extract (batch 2): the connection to Postgres was lost (x)',
  });
  assert.deepEqual(decodeFailure('[not a kind X] y'), { kind: null, code: null, message: '[not a kind X] y' });
  assert.deepEqual(decodeFailure('written before kinds'), { kind: null, code: null, message: 'written before kinds' });
});
