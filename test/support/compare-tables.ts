/**
 * Value-by-value comparison of a Postgres table and its DuckDB copy, for tests: every column of
 * every row, each side rendered as text and normalized only where the two print one value differently
 * (booleans, arrays, JSON whitespace).
 */
import pg from 'pg';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { quoteIdent } from '../../src/sql/identifier.js';

export interface TableDiff {
  pgRows: number;
  duckRows: number;
  mismatches: string[];
}

export async function compareTables(pgUrl: string, pgTable: string, duckPath: string, duckTable: string, primaryKey: string[]): Promise<TableDiff> {
  const client = new pg.Client({ connectionString: pgUrl, types: { getTypeParser: () => (v: string) => v } as never });
  await client.connect();
  let columns: { name: string; type: string }[];
  let pgRows: (string | null)[][];
  try {
    await client.query("SET TimeZone = 'UTC'");
    const cols = await client.query<{ name: string; type: string }>(
      // Domains are compared as their base type (a domain over text[] is an array).
      `SELECT a.attname AS name,
              CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END AS type
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [pgTable],
    );
    columns = cols.rows;
    // char(n) keeps its padding in DuckDB (as Postgres prints it); `::text` would strip it, concat() prints it.
    const select = columns.map((c) =>
      c.type.endsWith('[]')
        ? `array_to_json(${quoteIdent(c.name)})::text`
        : c.type.startsWith('character(')
          ? `CASE WHEN ${quoteIdent(c.name)} IS NOT NULL THEN concat(${quoteIdent(c.name)}) END`
          : `${quoteIdent(c.name)}::text`,
    );
    const res = await client.query<(string | null)[]>({
      text: `SELECT ${select.join(', ')} FROM ${pgTable} AS t ORDER BY ${primaryKey.map((k) => `t.${quoteIdent(k)}`).join(', ')}`,
      rowMode: 'array',
    });
    pgRows = res.rows;
  } finally {
    await client.end();
  }
  const duckRows = await withDuckDbFile(duckPath, async (s) => {
    await s.run("SET TimeZone = 'UTC'");
    const select = columns.map((c) => (c.type.endsWith('[]') ? `to_json(${quoteIdent(c.name)})::VARCHAR` : `CAST(${quoteIdent(c.name)} AS VARCHAR)`));
    const rows = await s.all(
      `SELECT ${select.map((e, i) => `${e} AS c${i}`).join(', ')} FROM ${quoteIdent(duckTable)} ORDER BY ${primaryKey.map(quoteIdent).join(', ')}`,
    );
    return rows.map((r) => columns.map((_, i) => r[`c${i}`] as string | null));
  });
  const mismatches: string[] = [];
  const n = Math.max(pgRows.length, duckRows.length);
  for (let i = 0; i < n && mismatches.length < 20; i++) {
    const a = pgRows[i];
    const b = duckRows[i];
    if (!a || !b) {
      mismatches.push(`row ${i}: ${a ? 'missing in DuckDB' : 'extra in DuckDB'}`);
      continue;
    }
    columns.forEach((c, j) => {
      if (normalize(c.type, a[j]) !== normalize(c.type, b[j])) mismatches.push(`row ${i} ${c.name} (${c.type}): postgres ${a[j]} duckdb ${b[j]}`);
    });
  }
  return { pgRows: pgRows.length, duckRows: duckRows.length, mismatches };
}

function normalize(type: string, v: string | null): string | null {
  if (v === null) return null;
  if (type === 'boolean') return v === 't' || v === 'true' ? 'true' : 'false';
  if (type.endsWith('[]') || type === 'jsonb' || type === 'json') return JSON.stringify(JSON.parse(v));
  return v;
}
