/** Connection strings are printed only through this: the password (and any `password=` key) is masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    for (const key of [...u.searchParams.keys()]) if (/pass|secret|token/i.test(key)) u.searchParams.set(key, '****');
    return u.toString();
  } catch {
    return url.replace(/(password\s*=\s*)\S+/gi, '$1****').replace(/(:\/\/[^:/@]+:)[^@]*@/, '$1****@');
  }
}
