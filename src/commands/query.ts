/** `pgduck query "<sql>"`: run SQL against the DuckDB file and print a readable table. */
import { withDuckDbFile } from '../duckdb/lake.js';
import { renderTable } from '../report/render-table.js';

export async function queryCommand(duckdbPath: string, sql: string, opts: { json: boolean }): Promise<number> {
  const rows = await withDuckDbFile(duckdbPath, (s) => s.all(sql), { readOnly: true });
  process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
  return 0;
}
