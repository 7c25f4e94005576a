/** Rows as a boxed text table (cli-table3), the way `query`, `status` and `demo` print them. */
import Table from 'cli-table3';
import type { Row } from '../duckdb/lake.js';

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
