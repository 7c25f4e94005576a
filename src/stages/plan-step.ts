/**
 * PlanStep: one stage as a plan shows it, written by the stage itself (Stage.describe), so the steps
 * `pgduck plan` prints are the steps the runner executes, SQL included.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping } from '../schema/column.js';
import type { StageName } from './stage.js';

export interface PlanStep {
  stage: StageName;
  /** When the stage acts, if not on every batch (it still runs, and returns at once otherwise). */
  when?: string;
  /** The SQL this stage runs for a batch, when it runs any (Postgres for extract, DuckDB for drift-check and upsert). */
  sql?: string | Record<string, string>;
  [detail: string]: unknown;
}

/** The live shape of the source, when known (plan --connect): makes the plan's SQL exact. */
export interface SourceShape {
  /** Every synced column, mapped (no refused ones). */
  columns: ColumnMapping[];
  /** Declared types of the cursor and key columns, as `$n::type` casts need them. */
  cursorType: string;
  keyTypes: string[];
  /** The cursor's timestamp or date type, which the commit-safe horizon is compared in (horizonType() in extract.ts); null: no horizon. */
  horizon: 'timestamptz' | 'timestamp' | 'date' | null;
}

/** What a stage needs, besides the spec, to describe itself without I/O. */
export interface DescribeInputs {
  /** The DuckDB file the target lives in (the pipeline's own, or the default). */
  duckdbPath: string;
  /** Where Parquet batches go (PARQUET_DIR). */
  parquetDir: string;
  /** Absent offline: the SQL then shows the columns the pipeline file names (see plannedColumns). */
  source?: SourceShape;
}

/** The placeholder for the columns a plan without a connection cannot know. */
export const EVERY_COLUMN = '<every column>';

export type PlannedColumn = Pick<ColumnMapping, 'name' | 'selectExpr' | 'loadExpr' | 'duckType'>;

/**
 * The columns a step's SQL names: the live ones, or (offline) the columns the file names, as
 * identity expressions with no known type; `withUnknown` then adds `unknown` for the rest. With
 * `source.columns.include` the file names every column, so nothing is unknown; with `exclude` the
 * placeholder says which columns it leaves out.
 */
export function plannedColumns(
  spec: PipelineSpec,
  inputs: DescribeInputs,
): { columns: PlannedColumn[]; withUnknown: (sql: string) => string; unknown: string | null } {
  const { source } = inputs;
  const selection = spec.source.columns;
  const named =
    selection && 'include' in selection
      ? selection.include
      : [...new Set([spec.source.cursor, ...spec.source.primaryKey, ...(spec.source.softDelete ? [spec.source.softDelete] : [])])];
  const columns: PlannedColumn[] =
    source?.columns ?? named.map((n) => ({ name: n, selectExpr: (c: string) => c, loadExpr: (c: string) => c, duckType: `<type of ${n}>` }));
  const unknown =
    source || (selection && 'include' in selection)
      ? null
      : selection
        ? `<every column but ${selection.exclude.map((n) => `"${n}"`).join(', ')}>`
        : EVERY_COLUMN;
  const withUnknown = (sql: string) => (unknown === null ? sql : sql.replace(/(^|\n)SELECT /, `$1SELECT ${unknown}, `));
  return { columns, withUnknown, unknown };
}
