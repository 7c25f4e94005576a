/** `--listen host:port` / PGDUCK_LISTEN: what is accepted, and what a malformed address says (a usage error, exit 2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatListenAddress, listenAddressFrom, parseListenAddress } from '../../src/runner/listen-address.js';
import { PgduckError } from '../../src/errors/pgduck-error.js';

test('host:port, a host name and a bracketed IPv6 address are accepted', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9187'), { host: '127.0.0.1', port: 9187 });
  assert.deepEqual(parseListenAddress(' 0.0.0.0:80 '), { host: '0.0.0.0', port: 80 });
  assert.deepEqual(parseListenAddress('localhost:65535'), { host: 'localhost', port: 65535 });
  assert.deepEqual(parseListenAddress('metrics-1.internal:1'), { host: 'metrics-1.internal', port: 1 });
  assert.deepEqual(parseListenAddress('[::1]:9187'), { host: '::1', port: 9187 });
  assert.deepEqual(parseListenAddress('[::]:9187'), { host: '::', port: 9187 });
  assert.equal(formatListenAddress({ host: '::1', port: 9187 }), '[::1]:9187');
  assert.equal(formatListenAddress({ host: '127.0.0.1', port: 9187 }), '127.0.0.1:9187');
});

test('a malformed address is a usage error that says what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['9187', /no port \(write host:port\)/],
    [':9187', /no host/],
    ['127.0.0.1:', /no port after the colon/],
    ['127.0.0.1:http', /port "http" is not a number/],
    ['127.0.0.1:0', /port 0 is outside 1–65535/],
    ['127.0.0.1:70000', /port 70000 is outside 1–65535/],
    ['127.0.0.1:-1', /port "-1" is not a number/],
    ['::1:9187', /an IPv6 address goes in brackets/],
    ['[127.0.0.1]:9187', /only an IPv6 address goes in brackets/],
    ['http://127.0.0.1:9187', /without a scheme such as http:\/\//],
    ['127.0.0.1:9187/metrics', /port "9187\/metrics" is not a number/],
    ['a b:9187', /is not a host name/],
    ['', /no port/],
  ];
  for (const [raw, why] of cases) {
    assert.throws(
      () => parseListenAddress(raw, 'PGDUCK_LISTEN'),
      (err: unknown) => {
        assert.ok(err instanceof PgduckError, raw);
        assert.equal(err.kind, 'usage');
        assert.match(err.message, /^PGDUCK_LISTEN must be host:port, such as 127\.0\.0\.1:9187/);
        assert.ok(err.message.includes(JSON.stringify(raw)), `the message quotes what was given: ${err.message}`);
        assert.match(err.message, why);
        return true;
      },
      raw,
    );
  }
});

test('the flag wins over PGDUCK_LISTEN; nothing listens without either; --once never listens', () => {
  const env = { PGDUCK_LISTEN: '0.0.0.0:9187' };
  assert.deepEqual(listenAddressFrom('127.0.0.1:9000', env, { once: false }), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(listenAddressFrom(undefined, env, { once: false }), { host: '0.0.0.0', port: 9187 });
  assert.equal(listenAddressFrom(undefined, {}, { once: false }), null);
  assert.equal(listenAddressFrom(undefined, { PGDUCK_LISTEN: '  ' }, { once: false }), null);
  // The variable set for the container's service does not make `run --once` fight it for the port.
  assert.equal(listenAddressFrom(undefined, env, { once: true }), null);
  assert.throws(() => listenAddressFrom('127.0.0.1:9000', {}, { once: true }), /--listen serves \/healthz and \/metrics of the service: run without --once/);
  assert.throws(() => listenAddressFrom(undefined, { PGDUCK_LISTEN: 'nope' }, { once: false }), /^UsageError: PGDUCK_LISTEN must be/);
});
