/** `pgduck query "<sql>"`: run SQL against the DuckDB file and print a readable table. */
import Table from 'cli-table3';
import { withDuckDbFile, type Row } from '../duckdb/lake.js';

export function renderTable(rows: Row[], columns?: string[]): string {
  const head = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (head.length === 0) return '(no rows)\n';
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(head.map((h) => formatCell(row[h])));
  return `${table.toString()}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export async function queryCommand(duckdbPath: string, sql: string, opts: { json: boolean }): Promise<number> {
  const rows = await withDuckDbFile(duckdbPath, (s) => s.all(sql), { readOnly: true });
  process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
  return 0;
}
