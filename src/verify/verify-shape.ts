/**
 * What `verify` compares for one pipeline: the key order and the canonical expressions of every
 * synced column (source.columns) present on both sides, in source column order. Pure: built from the source catalog
 * (introspect-table.ts) and the target's columns (target-table.ts), no I/O.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { PgColumn } from '../schema/column.js';
import { isRefused, mapColumn } from '../schema/type-map.js';
import { selectColumns } from '../schema/column-selection.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { DELETED_AT_COLUMN } from '../schema/deleted-at-column.js';
import { canonicalColumn, isUncompared, type CanonicalColumn, type UncomparedColumn } from './canonical-value.js';
import { keyColumn, type KeyColumn } from './key-order.js';

export interface VerifyShape {
  pipeline: string;
  /**
   * The source database's text is not UTF-8 (server_encoding other than UTF8 or SQL_ASCII): its
   * "C" order of text keys is its own bytes', not DuckDB's (UTF-8), so the Postgres side orders and
   * bounds them by their UTF-8 bytes (src/postgres/range-digest.ts). Found by review: on a WIN1252
   * source verify listed equal rows as different and reconcile failed.
   */
  sourceNotUtf8?: boolean;
  /** Quoted, schema-qualified source table (a subquery of its living rows under soft_delete_mode remove). */
  sourceTable: string;
  /** Target table name and its DuckDB schema (unquoted; the DuckDB side qualifies them). */
  targetTable: string;
  targetSchema: string;
  /** A condition on the target's rows for them to be compared at all (hard_delete_mode mark: the rows not marked gone). */
  targetFilter?: string;
  keys: KeyColumn[];
  /** Compared columns, keys included, in source order: both sides hash them in this order. */
  columns: CanonicalColumn[];
  /** Columns on one side only, or whose types no longer correspond: reported, not compared. */
  uncompared: UncomparedColumn[];
}

export function buildVerifyShape(spec: PipelineSpec, all: PgColumn[], target: { name: string; type: string }[]): VerifyShape {
  const columns: CanonicalColumn[] = [];
  const uncompared: UncomparedColumn[] = [];
  // Only the columns source.columns selects are synced, so only they are compared (an excluded one is never read).
  const source = selectColumns(spec.source, all);
  for (const col of source) {
    const t = target.find((c) => c.name === col.name);
    if (!t) {
      uncompared.push({ name: col.name, reason: 'in the source only (not in the target table)' });
      continue;
    }
    const mapping = mapColumn(col);
    if (isRefused(mapping)) {
      uncompared.push({ name: col.name, reason: `source type cannot be synced: ${mapping.reason}` });
      continue;
    }
    const canon = canonicalColumn(col, mapping, t.type, { pg: quoteIdent(col.name), duck: quoteIdent(col.name) });
    if (isUncompared(canon)) uncompared.push(canon);
    else columns.push(canon);
  }
  for (const t of target) {
    // pgduck's own mark column (hard_delete_mode mark) is no source column: it decides which rows are compared, below.
    if (source.some((c) => c.name === t.name) || t.name === DELETED_AT_COLUMN) continue;
    uncompared.push({
      name: t.name,
      reason: all.some((c) => c.name === t.name)
        ? 'left out by source.columns (in the target from before)'
        : 'in the target only (dropped or renamed in the source)',
    });
  }
  const keys = spec.source.primaryKey.map((name) => {
    const col = source.find((c) => c.name === name);
    const canon = columns.find((c) => c.name === name);
    if (!col) throw new Error(`source table ${spec.source.schema}.${spec.source.table} has no primary-key column "${name}"`);
    if (!canon) {
      const why = uncompared.find((u) => u.name === name)?.reason ?? 'not comparable';
      throw new Error(`primary-key column "${name}" cannot be compared: ${why}`);
    }
    return keyColumn(col, canon, { pg: quoteIdent(name), duck: quoteIdent(name) });
  });
  return {
    pipeline: spec.name,
    // soft_delete_mode remove: a tombstoned row belongs in the source's count only while it lives.
    sourceTable:
      spec.source.softDelete && spec.source.softDeleteMode === 'remove'
        ? `(SELECT * FROM ${qualified(spec.source.schema, spec.source.table)} WHERE ${quoteIdent(spec.source.softDelete)} IS NULL) AS living`
        : qualified(spec.source.schema, spec.source.table),
    targetTable: spec.target.table,
    targetSchema: spec.target.schema,
    // hard_delete_mode mark: a marked row is one the source no longer has; it stays in the target on purpose.
    // Under remove (perhaps switched from mark) the marked rows are compared, so reconcile removes them.
    ...(spec.source.hardDeleteMode === 'mark' &&
      target.some((t) => t.name === DELETED_AT_COLUMN) && { targetFilter: `${quoteIdent(DELETED_AT_COLUMN)} IS NULL` }),
    keys,
    columns,
    uncompared,
  };
}
