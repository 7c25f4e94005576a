/**
 * upsert: apply the batch's Parquet file to the DuckDB table, idempotently and never backwards (rule 4).
 *
 * Contract: at-least-once. The same file may be applied any number of times, and an older file
 * (a replay from parquet/) never overwrites a newer row:
 *   1. load the file, de-duplicated by key (latest cursor wins: INSERT OR REPLACE / ON CONFLICT would keep the first);
 *   2. in one transaction, delete target rows of those keys whose cursor is <= the batch's,
 *      then insert the batch rows whose key is no longer present.
 * DELETE + INSERT: 4–6× faster than MERGE / INSERT OR REPLACE / ON CONFLICT on DuckDB 1.5 (DESIGN.md).
 */
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import { targetRef } from '../duckdb/target-table.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { ColumnMapping } from '../schema/column.js';
import type { BatchState, Stage, StageContext } from './stage.js';

export interface UpsertSql {
  load: string;
  delete: string;
  insert: string;
}

/** The three statements of an upsert; pure, so `plan` can print them. */
export function buildUpsertSql(
  target: string,
  staging: string,
  parquetPath: string,
  columns: Pick<ColumnMapping, 'name' | 'loadExpr'>[],
  primaryKey: string[],
  cursor: string,
): UpsertSql {
  const q = quoteIdent;
  const keyMatch = primaryKey.map((k) => `t.${q(k)} = b.${q(k)}`).join(' AND ');
  return {
    load:
      `CREATE OR REPLACE TEMP TABLE ${staging} AS\n` +
      `SELECT ${columns.map((c) => `${c.loadExpr(q(c.name))} AS ${q(c.name)}`).join(', ')}\n` +
      `FROM read_parquet(${quoteLiteral(parquetPath)})\n` +
      `QUALIFY row_number() OVER (PARTITION BY ${primaryKey.map(q).join(', ')} ORDER BY ${q(cursor)} DESC) = 1`,
    delete:
      `DELETE FROM ${target} AS t USING ${staging} AS b\n` +
      `WHERE ${keyMatch} AND (t.${q(cursor)} IS NULL OR t.${q(cursor)} <= b.${q(cursor)})`,
    insert:
      `INSERT INTO ${target} (${columns.map((c) => q(c.name)).join(', ')})\n` +
      `SELECT ${columns.map((c) => `b.${q(c.name)}`).join(', ')} FROM ${staging} AS b\n` +
      `WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${keyMatch})`,
  };
}

export async function applyParquet(
  session: LakeSession,
  table: string,
  parquetPath: string,
  columns: Pick<ColumnMapping, 'name' | 'loadExpr'>[],
  primaryKey: string[],
  cursor: string,
): Promise<number> {
  const staging = q('pgduck_batch');
  const sql = buildUpsertSql(targetRef(session, table), staging, parquetPath, columns, primaryKey, cursor);
  await session.run(sql.load);
  try {
    return await session.transaction(async () => {
      await session.run(sql.delete);
      const inserted = await session.all(sql.insert);
      return Number(inserted[0]?.Count ?? 0);
    });
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${staging}`);
  }
}

function q(name: string): string {
  return quoteIdent(name);
}

export const upsertStage: Stage = {
  name: 'upsert',
  describe() {
    return { strategy: 'de-duplicate by key (latest cursor wins); BEGIN; DELETE older target rows; INSERT missing keys; COMMIT' };
  },
  async run(ctx: StageContext, batch: BatchState) {
    if (!batch.parquetPath) throw new Error('upsert needs the batch Parquet file (parquet stage did not run)');
    batch.upserted = await applyParquet(ctx.lake, ctx.spec.target.table, batch.parquetPath, batch.loadColumns, ctx.spec.source.primaryKey, ctx.spec.source.cursor);
  },
};
