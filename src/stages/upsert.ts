/**
 * upsert: apply the batch's Parquet file to the DuckDB table, idempotently (rule 4).
 *
 * Contract: at-least-once. Applying the same file again changes nothing. Two modes:
 *
 * - `replace` (what the runner does): every row of the batch replaces its key. The runner applies
 *   batches in the order it extracted them, under the DuckDB file lock, and after a crash it
 *   re-extracts instead of re-applying an old file, so the batch in hand always holds the newest
 *   version of its rows. Comparing cursors here would be wrong: `updated_at = now()` is the
 *   transaction's *start*, so a row's cursor can go backwards. Transaction T starts at t0, W starts
 *   at t1 > t0, updates row r and commits (r.updated_at = t1), then T updates r and commits
 *   (r.updated_at = t0). A sync between the two commits loads W's version; "keep the higher cursor"
 *   would then refuse T's, newer, version forever (test/sync/repeated-updates.test.ts shows it).
 * - `monotonic` (replaying a file from parquet/, which may be older than the table): a target row
 *   is replaced only when its cursor is <= the file's, so an older batch never overwrites a row
 *   with a newer cursor.
 *
 * Both: 1. load the file, de-duplicated by key (latest cursor wins; INSERT OR REPLACE / ON CONFLICT
 * would keep the first); 2. in one transaction DELETE the target rows to replace, INSERT the batch rows
 * whose key is free. DELETE + INSERT: 4–6× faster than MERGE / INSERT OR REPLACE / ON CONFLICT on
 * DuckDB 1.5 (DESIGN.md).
 */
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import { targetRef } from '../duckdb/target-table.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { ColumnMapping } from '../schema/column.js';
import type { BatchState, Stage, StageContext } from './stage.js';
import { faultPoint } from '../runner/faults.js';

export type UpsertMode = 'replace' | 'monotonic';

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
  mode: UpsertMode = 'monotonic',
): UpsertSql {
  const q = quoteIdent;
  const keyMatch = primaryKey.map((k) => `t.${q(k)} = b.${q(k)}`).join(' AND ');
  const insert =
    `INSERT INTO ${target} (${columns.map((c) => q(c.name)).join(', ')})\n` +
    `SELECT ${columns.map((c) => `b.${q(c.name)}`).join(', ')} FROM ${staging} AS b`;
  return {
    load:
      `CREATE OR REPLACE TEMP TABLE ${staging} AS\n` +
      `SELECT ${columns.map((c) => `${c.loadExpr(q(c.name))} AS ${q(c.name)}`).join(', ')}\n` +
      `FROM read_parquet(${quoteLiteral(parquetPath)})\n` +
      `QUALIFY row_number() OVER (PARTITION BY ${primaryKey.map(q).join(', ')} ORDER BY ${q(cursor)} DESC) = 1`,
    delete:
      mode === 'replace'
        ? `DELETE FROM ${target} AS t USING ${staging} AS b\nWHERE ${keyMatch}`
        : `DELETE FROM ${target} AS t USING ${staging} AS b\n` + `WHERE ${keyMatch} AND (t.${q(cursor)} IS NULL OR t.${q(cursor)} <= b.${q(cursor)})`,
    insert: mode === 'replace' ? insert : `${insert}\nWHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${keyMatch})`,
  };
}

export async function applyParquet(
  session: LakeSession,
  table: string,
  parquetPath: string,
  columns: Pick<ColumnMapping, 'name' | 'loadExpr'>[],
  primaryKey: string[],
  cursor: string,
  mode: UpsertMode,
): Promise<number> {
  const staging = q('pgduck_batch');
  const sql = buildUpsertSql(targetRef(session, table), staging, parquetPath, columns, primaryKey, cursor, mode);
  await session.run(sql.load);
  try {
    return await session.transaction(async () => {
      await session.run(sql.delete);
      faultPoint('mid-upsert');
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
    return { strategy: 'de-duplicate by key (latest cursor wins); BEGIN; DELETE the batch keys; INSERT the batch; COMMIT (the batch is the newest extraction)' };
  },
  async run(ctx: StageContext, batch: BatchState) {
    if (!batch.parquetPath) throw new Error('upsert needs the batch Parquet file (parquet stage did not run)');
    batch.upserted = await applyParquet(ctx.lake, ctx.spec.target.table, batch.parquetPath, batch.loadColumns, ctx.spec.source.primaryKey, ctx.spec.source.cursor, 'replace');
  },
};
