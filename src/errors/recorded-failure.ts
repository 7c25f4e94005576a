/**
 * A failed run's kind and code travel inside the state store's `last_error` text, as a prefix
 * `[kind CODE] message`, so `pgduck status` can show them without a column of their own. Text
 * written before kinds existed has no prefix and reads back with kind and code null.
 */
import { ERROR_KINDS, type ErrorKind } from './pgduck-error.js';

export interface RecordedFailure {
  kind: ErrorKind | null;
  code: string | null;
  message: string;
}

export function encodeFailure(failure: { kind: ErrorKind; code: string; message: string }): string {
  return `[${failure.kind} ${failure.code}] ${failure.message}`;
}

export function decodeFailure(text: string): RecordedFailure {
  const m = /^\[([a-z-]+) ([A-Z0-9_]+)\] ([\s\S]*)$/.exec(text);
  if (!m || !(ERROR_KINDS as readonly string[]).includes(m[1])) return { kind: null, code: null, message: text };
  return { kind: m[1] as ErrorKind, code: m[2], message: m[3] };
}
