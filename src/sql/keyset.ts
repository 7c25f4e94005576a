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

/**
 * The ORDER BY of a paged read: the table's own columns, qualified by `relation` (the FROM's table).
 * A bare name in ORDER BY means the SELECT's output column of that name when there is one (Postgres),
 * and pgduck's SELECTs name each expression a column is read through after the column (`to_json(k)
 * AS k`, `k::text`): ordered by the expression, a key pages in another order than the row comparison
 * above it (rowsAfter) walks, and rows at a batch's edge are skipped or read twice (ordered by the
 * text of `to_json`, (10) comes before (9)), or the read fails (json has no ordering). Qualified, the
 * name can only be the table's column.
 */
export function orderByColumns(relation: string, quotedColumns: readonly string[]): string {
  return `ORDER BY ${quotedColumns.map((c) => `${relation}.${c}`).join(', ')}`;
}
