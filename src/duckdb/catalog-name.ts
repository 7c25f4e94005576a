/** DuckDB names the catalog of an opened file after its stem (`lake/warehouse.duckdb` → `warehouse`). Pure: no driver. */
export function catalogNameOf(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.[^.]*$/, '');
}
