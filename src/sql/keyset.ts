/**
 * The keyset predicate every paged read of the source shares (docs/architecture.md, rule 1): rows
 * after a position, compared as one row value `(a, b…) > ($1::ta, $2::tb…)`, never column by column,
 * so a btree index on those columns answers it. Columns come quoted; parameters start at $1, each
 * cast to its column's declared type (the position is kept as exact Postgres text). `values`: SQL
 * text expressions to compare with instead of the parameters (COPY takes none: the CSV data path).
 */
export function rowsAfter(quotedColumns: readonly string[], types: readonly string[], values?: readonly string[]): string {
  return `(${quotedColumns.join(', ')}) > (${types.map((t, i) => `${values ? values[i] : `$${i + 1}`}::${t}`).join(', ')})`;
}

/** Rows up to a position, inclusive: `(a, b…) <= (…)`, the other end of a bounded range (the parallel bootstrap's ranges). */
export function rowsUpTo(quotedColumns: readonly string[], types: readonly string[], values: readonly string[]): string {
  return `(${quotedColumns.join(', ')}) <= (${types.map((t, i) => `${values[i]}::${t}`).join(', ')})`;
}
