/** Connection strings are printed only through this: the password (and any `password=` key) is masked. */
export function redactUrl(url: string): string {
  // `user:secret@host/db` (no scheme) parses as a URL with scheme `user:` and no password: mask it by pattern instead.
  if (url.includes('://')) {
    try {
      const u = new URL(url);
      if (u.password) u.password = '****';
      for (const key of [...u.searchParams.keys()]) if (/pass|secret|token/i.test(key)) u.searchParams.set(key, '****');
      return u.toString();
    } catch {
      // fall through to the patterns
    }
  }
  const keywords = url.replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1****');
  // Up to the last `@`: a password with spaces or an unencoded `@` (which URL parsing rejects) is masked whole.
  return url.includes('://') ? keywords.replace(/(:\/\/[^:/@]*:).*@(?=[^@]*$)/s, '$1****@') : keywords.replace(/^([^:/@\s]+:).*@(?=[^@]*$)/s, '$1****@');
}
