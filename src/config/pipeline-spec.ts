/**
 * A validated, defaulted, environment-resolved pipeline: what the compiler and the runner take.
 * Built only by the config loader; everything downstream can trust every field.
 */
import type { KeepPolicy } from '../history/keep-policy.js';

export interface PipelineSpec {
  /** File stem: `pipelines/subscriptions.yml` → `subscriptions`. Unique across the directory. */
  name: string;
  /** Path of the YAML file it came from (for messages). */
  file: string;
  source: {
    schema: string;
    table: string;
    primaryKey: string[];
    cursor: string;
    softDelete?: string;
    /** With softDelete: keep tombstoned rows in the target (keep) or remove them (remove). */
    softDeleteMode: 'keep' | 'remove';
    /** Rows with a NULL cursor: read by key on every run (include) or refused (fail). */
    nullCursor: 'include' | 'fail';
    /** The table dropped and re-created under its name (same cluster and database): refuse (stop) or rebuild the target from it (rebootstrap). */
    onRecreate: 'stop' | 'rebootstrap';
    /** Rows reconcile finds gone from the source (hard DELETE, TRUNCATE): removed from the target, or kept and marked in `_pgduck_deleted_at`. */
    hardDeleteMode: 'remove' | 'mark';
    /** IANA zone of a `timestamp` cursor's wall-clock values (source.cursor_timezone); absent = unknown. */
    cursorTimezone?: string;
    /**
     * source.columns: which columns are synced (src/schema/column-selection.ts). Absent: every column.
     * `include` lists every synced column (key, cursor and tombstone among them); `exclude` the ones never read.
     */
    columns?: { include: string[] } | { exclude: string[] };
    /** Connection string override (already interpolated). Never print it: use redact(). */
    connection?: string;
  };
  target: {
    /** DuckDB schema of the table: target.schema, the schema part of a dotted target.table, else `main`. */
    schema: string;
    table: string;
    duckdbPath?: string;
    /** `target.key_index: false`: the key recorded in column comments, no PRIMARY KEY index (src/duckdb/target-table.ts). Absent: true. */
    keyIndex?: false;
  };
  batchSize: number;
  /** `bootstrap.parallel`: the bootstrap stream read as this many ranges in one snapshot (src/stages/parallel-bootstrap.ts). Absent: 1. */
  bootstrap?: { parallel: number };
  schedule: string;
  timezone: string;
  enabled: boolean;
  schemaEvolution: 'evolve' | 'freeze' | 'fail';
  horizon: { marginMs: number; lookbackSeconds: number };
  /** `history.keep`: what `pgduck history prune` keeps (src/history/keep-policy.ts); absent: everything. */
  history?: { keep: KeepPolicy };
  /**
   * The shared-defaults file of the pipeline's directory (`pipelines/_defaults.yml`) and the fields
   * this pipeline took from it (`schedule`, `horizon.margin_ms`), the others being overridden.
   * Absent when the directory has none.
   */
  defaults?: { file: string; fields: string[] };
  /** Hard-delete reconciliation run by the service on a schedule of its own (absent: only `pgduck reconcile`). */
  reconcile?: { schedule: string /** The reconcile block's own, else the pipeline's. */; timezone: string };
}

/** How many ranges a bootstrap stream is read as (`bootstrap.parallel`; 1: one stream). */
export function bootstrapParallel(spec: Pick<PipelineSpec, 'bootstrap'>): number {
  return spec.bootstrap?.parallel ?? 1;
}
