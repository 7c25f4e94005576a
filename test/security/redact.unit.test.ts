/** Passwords never leave through a printed connection string, however oddly it is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl } from '../../src/sql/redact.js';
import { scrubPassword } from '../../src/postgres/explain-connect-error.js';

const cases: [string, string, string][] = [
  // [connection string, its secret, redacted form]
  ['postgres://app:s3cret@db:5432/saas?sslmode=require', 's3cret', 'postgres://app:****@db:5432/saas?sslmode=require'],
  ['postgres://app:p%40ss@db/saas', 'p%40ss', 'postgres://app:****@db/saas'],
  ['postgres://app:sec ret@db host/saas', 'sec ret', 'postgres://app:****@db host/saas'], // not a valid URL: patterns
  ['postgres://app:p@ss@db/saas', 'p@ss', 'postgres://app:****@db/saas'], // unencoded @
  ['app:hunter22@db/saas', 'hunter22', 'app:****@db/saas'], // no scheme
  ["host=db password='a b\\'c' user=app", "a b\\'c", 'host=db password=**** user=app'],
  ['host=db password=plainpw user=app', 'plainpw', 'host=db password=**** user=app'],
];

test('redactUrl masks the password of every form', () => {
  for (const [url, secret, redacted] of cases) {
    const out = redactUrl(url);
    assert.equal(out, redacted, url);
    assert.ok(!out.includes(secret), `${url} leaks ${secret}`);
  }
  assert.equal(redactUrl('postgres://db/saas'), 'postgres://db/saas', 'nothing to mask');
});

test('scrubPassword removes the secret wherever a driver message repeats it', () => {
  for (const [url, secret] of cases) {
    const message = `could not connect with ${url}: password "${secret}" refused (${decodeURIComponent(secret.replace(/%(?![0-9A-F]{2})/gi, '%25'))})`;
    const out = scrubPassword(message, url);
    assert.ok(!out.includes(secret), `${out} still holds ${secret}`);
  }
});
