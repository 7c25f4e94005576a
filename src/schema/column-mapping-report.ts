/**
 * The type mapping as people read it: per column of a live source (for `plan`/`validate` when they
 * can see the database), or the general table (TYPE_TABLE) when they cannot. Pure: callers pass the
 * catalog columns (introspectTable) and print the lines.
 */
import type { PgColumn } from './column.js';
import { isRefused, mapColumn, TYPE_TABLE } from './type-map.js';

export interface ColumnMappingRow {
  column: string;
  postgres: string;
  /** DuckDB type, or null when the column is refused. */
  duckdb: string | null;
  /** The mapping's note (exact text, NaN handling…), or the refusal reason. */
  note: string;
  refused: boolean;
}

/** One row per source column, refusals included (never dropped). */
export function columnMappingRows(columns: PgColumn[]): ColumnMappingRow[] {
  return columns.map((c) => {
    const m = mapColumn(c);
    const postgres = c.declaredType === c.baseType ? c.declaredType : `${c.declaredType} (${c.baseType})`;
    const generated = c.generated ? 'generated column, value read as stored' : '';
    if (isRefused(m)) return { column: c.name, postgres, duckdb: null, note: m.reason, refused: true };
    return { column: c.name, postgres, duckdb: m.duckType, note: [m.note ?? '', generated].filter(Boolean).join('; '), refused: false };
  });
}

/** Aligned text lines: `column  postgres → DUCKDB  note`, refused columns marked. */
export function formatColumnMapping(rows: ColumnMappingRow[], indent = '  '): string[] {
  const w1 = Math.max(0, ...rows.map((r) => r.column.length));
  const w2 = Math.max(0, ...rows.map((r) => r.postgres.length));
  const w3 = Math.max(0, ...rows.map((r) => (r.duckdb ?? 'REFUSED').length));
  return rows.map((r) =>
    `${indent}${r.column.padEnd(w1)}  ${r.postgres.padEnd(w2)} → ${(r.duckdb ?? 'REFUSED').padEnd(w3)}${r.note ? `  ${r.refused ? 'refused: ' : ''}${r.note}` : ''}`.trimEnd(),
  );
}

/** The general type table as aligned text lines (what `plan` prints without a database). */
export function formatTypeTable(indent = '  '): string[] {
  const w1 = Math.max(...TYPE_TABLE.map((r) => r.postgres.length));
  const w2 = Math.max(...TYPE_TABLE.map((r) => r.duckdb.length));
  return TYPE_TABLE.map((r) => `${indent}${r.postgres.padEnd(w1)} → ${r.duckdb.padEnd(w2)}${r.note ? `  ${r.note}` : ''}`.trimEnd());
}
