/**
 * A failed connection in words a user can act on, with the connection string redacted. Used by
 * `validate --connect` and `plan --connect`, where a wrong password or an unreachable host is the
 * most likely finding of all.
 */
import { redactUrl } from '../sql/redact.js';

const HINTS: Record<string, string> = {
  '28P01': 'the password was refused: check the password in the connection string (DATABASE_URL, POSTGRES_PASSWORD or source.connection)',
  '28000': 'the server refused this role, user or client address (pg_hba.conf, or the role does not exist or cannot log in)',
  '3D000': 'the database does not exist on that server: check the database name in the connection string',
  '53300': 'the server has no free connection slots (too many clients)',
  '57P03': 'the server is starting up or shutting down: try again in a moment',
  ECONNREFUSED: 'nothing is listening there: is Postgres running, and are the host and port right?',
  ENOTFOUND: 'the host name does not resolve: check the host in the connection string',
  EAI_AGAIN: 'the host name could not be resolved (DNS): check the host in the connection string',
  ETIMEDOUT: 'no answer: the host is unreachable or a firewall drops the connection',
  EHOSTUNREACH: 'the host is unreachable from here',
  ENETUNREACH: 'the network is unreachable from here',
};

/** `cannot connect to Postgres at postgres://app:****@db:5432/app: <reason>: <hint>`. Never contains the password. */
export function explainConnectError(error: unknown, url: string): string {
  const root = (error as { cause?: unknown }).cause ?? error;
  const code = (root as { code?: string }).code ?? '';
  let reason = root instanceof Error ? root.message : String(root);
  if (/timeout expired|Connection terminated due to connection timeout/i.test(reason)) reason = 'timed out while connecting';
  const hint = HINTS[code] ?? (/timed out/.test(reason) ? HINTS.ETIMEDOUT : undefined);
  const schemeless = !/^postgres(ql)?:\/\//i.test(url) && !/=/.test(url) ? '; note that the connection string does not start with postgres://' : '';
  const text = `cannot connect to Postgres at ${redactUrl(url)}: ${reason}${hint ? `; ${hint}` : ''}${schemeless}`;
  return scrubPassword(text, url);
}

/** Belt and braces: whatever a driver put into a message, the password never reaches the user. */
export function scrubPassword(text: string, url: string): string {
  const candidates = [
    // Up to the last `@`: a password may hold spaces or an unencoded `@`, and must still be found.
    /:\/\/[^:/@]*:(.*)@[^@]*$/s.exec(url)?.[1], // scheme://user:secret@host
    /^[^:/@\s]+:(.*)@[^@]*$/s.exec(url)?.[1], // user:secret@host (no scheme)
    /password\s*=\s*'((?:[^'\\]|\\.)*)'/i.exec(url)?.[1], // password='secret'
    /password\s*=\s*([^'\s]\S*)/i.exec(url)?.[1], // password=secret
  ].filter((c): c is string => !!c);
  let out = text;
  for (const secret of new Set(candidates.flatMap((c) => [c, safeDecode(c)]))) {
    if (secret.length >= 3) out = out.split(secret).join('****');
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
