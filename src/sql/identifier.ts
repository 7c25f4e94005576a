/**
 * The only way identifiers enter SQL, in both dialects (Postgres and DuckDB quote the same way).
 * A table called `Order Items; drop` is quoted, never interpolated raw.
 */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error(`identifier contains a NUL byte: ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table`, each part quoted. */
export function qualified(...parts: string[]): string {
  return parts.map(quoteIdent).join('.');
}

/** A SQL string literal (both dialects, standard_conforming_strings on). */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new Error('string literal contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}
