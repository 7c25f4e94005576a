/**
 * The history file of the keys a reconcile (or `verify --repair`) found gone from the source
 * (`<seq>.deletes.parquet`, src/parquet/history-files.ts), so that `pgduck replay` removes (or, under
 * hard_delete_mode mark, marks) them too instead of bringing the rows back
 * (docs/architecture.md#parquet-history).
 *
 * Written by DuckDB from the target table itself, before the transaction that removes or marks the
 * rows: each key as the table holds it, with the row's cursor (a replay onto a newer table never
 * removes a row whose cursor is newer than the one removed). Gone keys have no Postgres text any more,
 * so the file holds the table's own types; INTERVAL and TIMETZ (which Parquet cannot hold exactly,
 * typed-parquet.ts) as DuckDB's text of the value, cast back when read (`textColumns`). Like every
 * history file: `COPY … TO '<file>.tmp'`, fsync, rename, so a crash never leaves half a file.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fsyncAndRename } from '../parquet/durable-file.js';
import { dirname } from 'node:path';
import type { LakeSession } from '../duckdb/lake.js';
import type { ColumnMapping } from '../schema/column.js';
import { keepsText } from '../schema/typed-parquet.js';
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';

const GONE = quoteIdent('pgduck_gone_keys');

/** The columns of a deletes file: the key columns, then the cursor (once, when it is not a key). */
export function deletesFileColumns<C extends Pick<ColumnMapping, 'name'>>(columns: readonly C[], primaryKey: string[], cursor: string): C[] {
  const names = [...primaryKey, ...(primaryKey.includes(cursor) ? [] : [cursor])];
  return names.map((n) => {
    const c = columns.find((x) => x.name === n);
    if (!c) throw new Error(`column "${n}" (primary key or cursor) is not among the source columns`);
    return c;
  });
}

/** The columns a deletes file keeps as DuckDB's text of the value (read back with `CAST(… AS <type>)`). */
export function deletesTextColumns(columns: readonly Pick<ColumnMapping, 'name' | 'duckType'>[]): string[] {
  return columns.filter(keepsText).map((c) => c.name);
}

/**
 * Write `path` from the rows of `table` (aliased `t`) that each `where` (one per chunk of keys)
 * selects: `columns` of them. Returns how many keys it holds; with none, no file is written (0).
 */
export async function writeDeletesFile(
  session: LakeSession,
  path: string,
  table: string,
  columns: readonly Pick<ColumnMapping, 'name' | 'duckType'>[],
  where: string[],
  metadata: Record<string, string>,
): Promise<number> {
  const text = new Set(deletesTextColumns(columns));
  const select = columns
    .map((c) => (text.has(c.name) ? `CAST(t.${quoteIdent(c.name)} AS VARCHAR) AS ${quoteIdent(c.name)}` : `t.${quoteIdent(c.name)}`))
    .join(', ');
  const tmp = `${path}.tmp`;
  try {
    await session.run(`CREATE OR REPLACE TEMP TABLE ${GONE} AS SELECT ${select} FROM ${table} AS t WHERE false`);
    for (const w of where) await session.run(`INSERT INTO ${GONE} SELECT ${select} FROM ${table} AS t WHERE ${w}`);
    const n = Number((await session.all(`SELECT count(*)::BIGINT AS n FROM ${GONE}`))[0].n);
    if (n === 0) return 0;
    mkdirSync(dirname(path), { recursive: true });
    const kv = Object.entries(metadata)
      .map(([k, v]) => `${quoteIdent(k)}: ${quoteLiteral(v)}`)
      .join(', ');
    await session.run(`COPY ${GONE} TO ${quoteLiteral(tmp)} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {${kv}})`);
    fsyncAndRename(tmp, path);
    return n;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write the deletes file ${path}: ${(err as Error).message.split('\n')[0]} (nothing was removed or marked)`, { cause: err });
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${GONE}`).catch(() => {});
  }
}
