/**
 * Where `pgduck run` serves /healthz and /metrics: `--listen host:port`, else PGDUCK_LISTEN, else
 * nowhere (opt-in: a runner that was not asked opens no port). Parsed before anything starts, so a
 * malformed address is a usage error (exit 2) naming what is wrong, not a failure after the locks
 * are taken. Whether the address can really be bound is only known by binding it
 * (src/runner/health-server.ts: LISTEN_UNAVAILABLE).
 *
 *   127.0.0.1:9187    one interface (the loopback: only this machine, or this container)
 *   0.0.0.0:9187      every IPv4 interface (what a container needs to be scraped from outside)
 *   [::1]:9187        IPv6: the address in brackets, as in a URL
 *   localhost:9187    a host name, resolved when it is bound
 */
import { UsageError } from '../errors/usage-error.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export const LISTEN_ENV = 'PGDUCK_LISTEN';

const EXAMPLE = 'host:port, such as 127.0.0.1:9187, 0.0.0.0:9187 or [::1]:9187';

/** `raw` as given by `source` (the flag or the variable, named in the message). Throws UsageError. */
export function parseListenAddress(raw: string, source = `--listen (or ${LISTEN_ENV})`): ListenAddress {
  const text = raw.trim();
  const wrong = (why: string) => new UsageError(`${source} must be ${EXAMPLE}; got ${JSON.stringify(raw)}: ${why}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw wrong('write host:port alone, without a scheme such as http://');
  const bracketed = /^\[([0-9a-fA-F:.]+)\]:([^:]*)$/.exec(text);
  let host: string;
  let port: string;
  if (bracketed) {
    [, host, port] = bracketed;
    if (!host.includes(':')) throw wrong('only an IPv6 address goes in brackets');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw wrong('no port (write host:port)');
    host = text.slice(0, colon);
    port = text.slice(colon + 1);
    if (host.includes(':')) throw wrong('an IPv6 address goes in brackets: [::1]:9187');
    if (host === '') throw wrong('no host (0.0.0.0 listens on every interface, 127.0.0.1 on this machine only)');
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) throw wrong(`${JSON.stringify(host)} is not a host name or an IPv4 address`);
  }
  if (!/^[0-9]{1,5}$/.test(port)) throw wrong(port === '' ? 'no port after the colon' : `port ${JSON.stringify(port)} is not a number`);
  const n = Number(port);
  if (n < 1 || n > 65535) throw wrong(`port ${n} is outside 1–65535`);
  return { host, port: n };
}

/**
 * The address to serve on: the flag wins over the variable; an empty variable means none. The
 * service only: `run --once` ends when its pipelines are drained, so nothing there would be scraped
 * (and the variable, set for the container's service, must not make a one-off run fight it for the port).
 */
export function listenAddressFrom(flag: string | undefined, env: NodeJS.ProcessEnv, opts: { once: boolean }): ListenAddress | null {
  if (opts.once) {
    if (flag !== undefined) throw new UsageError('--listen serves /healthz and /metrics of the service: run without --once');
    return null;
  }
  if (flag !== undefined) return parseListenAddress(flag, '--listen');
  const fromEnv = env[LISTEN_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') return null;
  return parseListenAddress(fromEnv, LISTEN_ENV);
}

/** As a person would type it again (IPv6 in brackets). */
export function formatListenAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
