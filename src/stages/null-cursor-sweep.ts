/**
 * The NULL-cursor sweep: rows whose cursor is NULL, read by primary key.
 *
 * Why: the keyset `(cursor, key…) > (…)` is never true for a NULL cursor, so a legacy row with a
 * NULL `updated_at` (a nullable cursor column) would be read by no run at all. With
 * `source.null_cursor: include` (the default) every run, once its keyset pass has drained, reads
 * those rows in chunks of `batch_size`, in key order:
 *
 *   SELECT … FROM t WHERE cursor IS NULL AND (key…) > ($key…) ORDER BY key… LIMIT n
 *
 * and each chunk goes through the plan's other steps like any batch (a Parquet history file, the
 * drift check, the upsert by key), except that it never moves the checkpoint: the cursor position
 * says nothing about these rows. `fail` stops the pipeline instead, naming a key.
 *
 * Cost: nothing when the cursor column is NOT NULL (no query); otherwise one query per chunk, which
 * an index leading with the cursor answers without reading the table when no row is NULL. Rows that
 * stay NULL are re-read by every run (there is no cursor to tell what changed), but not re-written:
 * a chunk whose digest (its columns and every value, as read) equals one the last sweep recorded
 * writes no file and touches no table. A chunk is written anyway when it holds a key the keyset pass
 * of the same run loaded (that row was given a cursor and lost it again between the two reads; the
 * target holds the other version). The digests are trusted only as far as the target still holds what
 * they describe: a run takes them at its first batch and forgets them in the state store until its
 * sweep records them again (extract.ts takeLastSweep), and a repair forgets them before it changes
 * the target (docs/architecture.md#rule-1--keyset-batches). A NULL key part stops the pipeline here as in the keyset pass.
 */
import { createHash } from 'node:crypto';
import { PgduckError } from '../errors/pgduck-error.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping } from '../schema/column.js';
import type { WireRow } from '../parquet/arrow-table.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { orderByColumns, rowsAfter } from '../sql/keyset.js';
import type { RunMemory } from './run-memory.js';

/** The sweep's query; also what `plan` prints. Keys are carried as raw text at `positionIndexes`. */
export function buildNullCursorSql(
  spec: PipelineSpec,
  columns: Pick<ColumnMapping, 'name' | 'selectExpr'>[],
  keyTypes: string[],
  hasPosition: boolean,
): { sql: string; positionIndexes: number[] } {
  const q = quoteIdent;
  const select = columns.map((c) => `${c.selectExpr(q(c.name))} AS ${q(c.name)}`);
  const keys = spec.source.primaryKey;
  const positionIndexes = keys.map((name) => {
    const i = columns.findIndex((c) => c.name === name);
    if (i >= 0 && columns[i].selectExpr(q(name)) === q(name)) return i;
    select.push(`${q(name)}::text`);
    return select.length - 1;
  });
  const where = [`${q(spec.source.cursor)} IS NULL`];
  if (hasPosition) where.push(rowsAfter(keys.map(q), keyTypes));
  const table = qualified(spec.source.schema, spec.source.table);
  const sql = [
    `SELECT ${select.join(', ')}`,
    `FROM ${table}`,
    `WHERE ${where.join(' AND ')}`,
    orderByColumns(table, keys.map(q)),
    `LIMIT ${spec.batchSize}`,
  ].join('\n');
  return { sql, positionIndexes };
}

/** A chunk's identity: its columns (name and source type) and every value as read. */
export function chunkDigest(columns: Pick<ColumnMapping, 'name' | 'pgType'>[], rows: WireRow[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(columns.map((c) => [c.name, c.pgType])));
  for (const row of rows) hash.update(JSON.stringify(row));
  return hash.digest('hex');
}

/** Keys the keyset pass may remember per run; past this, every chunk of the sweep is written. */
export const TOUCHED_KEYS_LIMIT = 100_000;

const keyText = (key: readonly (string | null)[]) => JSON.stringify(key);

/** Remember the keys the keyset pass of this run loaded (only needed when a sweep follows). */
export function noteTouchedKeys(memory: RunMemory, keys: Iterable<readonly (string | null)[]>): void {
  if (memory.touchedKeys === 'too-many') return;
  for (const key of keys) {
    memory.touchedKeys.add(keyText(key));
    if (memory.touchedKeys.size > TOUCHED_KEYS_LIMIT) {
      memory.touchedKeys = 'too-many';
      return;
    }
  }
}

/** Whether a chunk read by the sweep may be skipped: the last sweep wrote the same rows, and no key of it was loaded since. */
export function chunkUnchanged(memory: RunMemory, recorded: ReadonlySet<string>, digest: string, keys: Iterable<readonly (string | null)[]>): boolean {
  if (!recorded.has(digest)) return false;
  if (memory.touchedKeys === 'too-many') return false;
  for (const key of keys) if (memory.touchedKeys.has(keyText(key))) return false;
  return true;
}

/** `null_cursor: fail`: the first row the sweep found, by key. */
export function nullCursorRefused(spec: PipelineSpec, key: readonly (string | null)[]): PgduckError {
  const where = spec.source.primaryKey.map((k, i) => `${k}=${key[i]}`).join(', ');
  return new PgduckError(
    `${spec.source.schema}.${spec.source.table}: a row has a NULL cursor ${spec.source.cursor} (key ${where}); ` +
      'the keyset cannot read such rows, and source.null_cursor is fail',
    {
      kind: 'needs-action',
      code: 'SOURCE_NULL_CURSOR',
      fix: `give those rows a cursor value and declare ${spec.source.cursor} NOT NULL, or set source.null_cursor: include in ${spec.file} (they are then read by key on every run)`,
    },
  );
}
