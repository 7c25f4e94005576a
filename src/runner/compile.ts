/**
 * compile: PipelineSpec → Plan, a plain object (no I/O). `plan` and `validate` print it, tests
 * assert on it, and runPipeline executes its `steps` in order, each with the stage of that name
 * from the one registry (src/stages/registry.ts). Every step is written by its stage's describe(),
 * so the plan shows what runs. A pipeline option that removes a step removes it from `steps`, not
 * behind an `if` in the runner.
 */
import { sibling, targetLabel } from '../duckdb/target-table.js';
import { Cron } from 'croner';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { STAGE_ORDER, STAGES } from '../stages/registry.js';
import type { DescribeInputs, PlanStep, SourceShape } from '../stages/plan-step.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { cronZone } from '../config/cron-zone.js';

export type { PlanStep, SourceShape } from '../stages/plan-step.js';
export { EVERY_COLUMN } from '../stages/plan-step.js';

export interface Plan {
  pipeline: string;
  /** The pipeline this plan was compiled from: what the stages read at run time. Not printed (it holds the connection string). */
  spec: PipelineSpec;
  file: string;
  enabled: boolean;
  source: {
    table: string;
    primaryKey: string[];
    cursor: string;
    softDelete: string | null;
    order: string;
    /** source.columns: the only columns read (`include`) or the ones never read (`exclude`); null: every column. */
    columns: { include: string[] } | { exclude: string[] } | null;
  };
  /** table and currentView as people name them: `orders`, or `analytics.orders` outside `main` (schema: the DuckDB schema). */
  target: { schema: string; table: string; duckdbPath: string; currentView: string | null };
  /** Where this pipeline's Parquet history goes (PARQUET_DIR). */
  parquetDir: string;
  /** The Postgres it reads (source.connection, else DATABASE_URL). Not printed: it may hold a password. */
  connection: string | null;
  batchSize: number;
  schedule: { cron: string; timezone: string; next: string[] };
  /** The hard-delete reconcile the service runs on its own schedule (the `reconcile` block); null: only `pgduck reconcile`. */
  reconcile: { cron: string; timezone: string; next: string[] } | null;
  schemaEvolution: PipelineSpec['schemaEvolution'];
  /** The shared-defaults file the pipeline inherited from and the fields it took from it; null without one. */
  defaults: { file: string; fields: string[] } | null;
  /**
   * `known`: the source columns were read from the live table (plan --connect), so every SQL text
   * is exactly what runs. `assumed`: only the columns the pipeline file names are known, so the SQL
   * shows those; `<every column>` stands for the rest and type casts name the column they follow.
   */
  columns: 'known' | 'assumed';
  steps: PlanStep[];
}

export interface CompileOptions {
  duckdbPath: string;
  /** Where Parquet batches go (PARQUET_DIR); default `parquet`. */
  parquetDir?: string;
  /** The Postgres the run reads; plans that are only printed may leave it out. */
  connection?: string | null;
  now?: Date;
  source?: SourceShape;
}

/** The plan of a pipeline whose defaults are settled (what the runner executes). */
export function compilePipeline(pipeline: ResolvedPipeline, opts: Pick<CompileOptions, 'now' | 'source'> = {}): Plan {
  return compile(pipeline.spec, { ...opts, duckdbPath: pipeline.duckdbPath, parquetDir: pipeline.parquetDir, connection: pipeline.connection });
}

export function compile(spec: PipelineSpec, opts: CompileOptions): Plan {
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent).join(', ');
  const duckdbPath = spec.target.duckdbPath ?? opts.duckdbPath;
  const parquetDir = opts.parquetDir ?? 'parquet';
  const inputs: DescribeInputs = { duckdbPath, parquetDir, source: opts.source };
  return {
    pipeline: spec.name,
    spec,
    file: spec.file,
    enabled: spec.enabled,
    source: {
      table: qualified(spec.source.schema, spec.source.table),
      primaryKey: spec.source.primaryKey,
      cursor: spec.source.cursor,
      softDelete: spec.source.softDelete ?? null,
      order,
      columns: spec.source.columns ?? null,
    },
    target: {
      schema: spec.target.schema,
      table: targetLabel(spec.target),
      duckdbPath,
      currentView: spec.source.softDelete || spec.source.hardDeleteMode === 'mark' ? targetLabel(sibling(spec.target, `${spec.target.table}_current`)) : null,
    },
    parquetDir,
    connection: opts.connection ?? null,
    batchSize: spec.batchSize,
    schedule: { cron: spec.schedule, timezone: spec.timezone, next: nextFireTimes(spec.schedule, spec.timezone, 3, opts.now) },
    reconcile: spec.reconcile
      ? { cron: spec.reconcile.schedule, timezone: spec.reconcile.timezone, next: nextFireTimes(spec.reconcile.schedule, spec.reconcile.timezone, 3, opts.now) }
      : null,
    schemaEvolution: spec.schemaEvolution,
    defaults: spec.defaults ? { file: spec.defaults.file, fields: [...spec.defaults.fields] } : null,
    columns: opts.source ? 'known' : 'assumed',
    steps: STAGE_ORDER.map((name): PlanStep => ({ stage: name, ...STAGES[name].describe(spec, inputs) })),
  };
}

export function nextFireTimes(cron: string, timezone: string, count: number, from?: Date): string[] {
  const job = new Cron(cron, { ...cronZone(timezone), paused: true });
  return job.nextRuns(count, from).map((d) => d.toISOString());
}
