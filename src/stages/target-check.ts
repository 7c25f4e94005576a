/**
 * The target check: what the last drift check made the DuckDB table agree with, as one digest in the
 * state store, so that an idle run (nothing new in the source) can tell without opening the DuckDB
 * file that the drift check would find nothing to do (docs/architecture.md, rule 7).
 *
 * The drift check (drift-check.ts) makes the target able to hold the source's columns as the pipeline
 * file says (columns selected, schema_evolution, soft and hard delete modes, the target's name and
 * file). Once it has, it records the digest of all it went by:
 *
 * - the pipeline's `source` and `target` settings and its `schema_evolution` (any change to them, and
 *   the next run checks the target again);
 * - the DuckDB file it checked;
 * - the checkpoint generation (a `reset`, with or without `--drop-target`, starts a new one);
 * - the source's columns as the catalog describes them (attnum, name, types, nullability) and the
 *   attnums of its primary key, read by the same run.
 *
 * An idle batch (no rows, the last of its run) whose digest is the stored one, with no backfill
 * pending, needs no DuckDB session: nothing changed that the drift check looks at, and there is
 * nothing to write. Only pgduck changes the target between runs (the drift check, the upsert,
 * reconcile and replay, which keep the table in the shape the check left it); a table someone altered
 * or dropped by hand is seen by the next run that has rows to write, as before.
 */
import { createHash } from 'node:crypto';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { PgColumn } from '../schema/column.js';
import type { TableShape } from '../postgres/introspect-table.js';

export interface TargetCheckInputs {
  spec: Pick<PipelineSpec, 'source' | 'target' | 'schemaEvolution'>;
  /** The DuckDB file the target lives in, as the run resolved it. */
  duckdbPath: string;
  generation: number;
  /** Every source column (not only the selected ones), as the batch's extract read them. */
  sourceColumns: PgColumn[];
  /** attnums of the source's primary key, in key order (empty: none). */
  primaryKey: number[];
}

/** The digest of what a drift check went by (see above). Pure. */
export function targetFingerprint(inputs: TargetCheckInputs): string {
  const { spec, duckdbPath, generation, sourceColumns, primaryKey } = inputs;
  const facts = {
    source: spec.source,
    target: spec.target,
    schemaEvolution: spec.schemaEvolution,
    duckdbPath,
    generation,
    columns: sourceColumns,
    primaryKey,
  };
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex');
}

/** attnums of a table's primary key, in key order, from its shape (introspectShape). */
export function primaryKeyAttnums(shape: TableShape): number[] {
  return (shape.primaryKey ?? []).map((name) => shape.columns.find((c) => c.name === name)?.attnum ?? -1);
}
