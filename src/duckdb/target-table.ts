/**
 * DDL and catalog reads for a synced DuckDB table. Synced tables carry the primary key and no
 * secondary index: DuckDB's ALTER TYPE fails on tables with any index besides it (DESIGN.md).
 */
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import type { LakeSession } from './lake.js';

export interface TargetColumn {
  name: string;
  type: string;
}

export function targetRef(session: LakeSession, table: string): string {
  return `${session.catalog}.main.${quoteIdent(table)}`;
}

/** Columns of the target table in order, or null when it does not exist yet. */
export async function describeTarget(session: LakeSession, table: string): Promise<TargetColumn[] | null> {
  const rows = await session.all(
    `SELECT column_name, data_type FROM duckdb_columns()
     WHERE database_name = ${quoteLiteral(session.catalogName)} AND schema_name = 'main' AND table_name = ${quoteLiteral(table)}
     ORDER BY column_index`,
  );
  if (rows.length === 0) return null;
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.data_type) }));
}

export async function createTarget(session: LakeSession, table: string, columns: TargetColumn[], primaryKey: string[]): Promise<void> {
  const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`);
  defs.push(`PRIMARY KEY (${primaryKey.map(quoteIdent).join(', ')})`);
  await session.run(`CREATE TABLE IF NOT EXISTS ${targetRef(session, table)} (\n  ${defs.join(',\n  ')}\n)`);
}

/**
 * `<table>_current`: the rows whose tombstone is not set. Written without a catalog so the view
 * binds inside whichever catalog the file is opened as (attached by the runner, opened by a user).
 */
export async function createCurrentView(session: LakeSession, table: string, softDelete: string): Promise<void> {
  await session.run(`USE ${session.catalog}.main`);
  await session.run(
    `CREATE OR REPLACE VIEW ${quoteIdent(`${table}_current`)} AS SELECT * FROM ${quoteIdent(table)} WHERE ${quoteIdent(softDelete)} IS NULL`,
  );
  await session.run('USE memory.main');
}

export async function dropTarget(session: LakeSession, table: string): Promise<void> {
  await session.run(`DROP VIEW IF EXISTS ${session.catalog}.main.${quoteIdent(`${table}_current`)}`);
  await session.run(`DROP TABLE IF EXISTS ${targetRef(session, table)}`);
}
