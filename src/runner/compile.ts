/**
 * compile: PipelineSpec → Plan, a plain object (no I/O). `plan` and `validate` print it, tests
 * assert on it, and the runner executes its stage list in order. A pipeline option that removes a
 * step removes it from `stages`, not behind an `if` in the runner.
 */
import { Cron } from 'croner';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { Stage, StageName } from '../stages/stage.js';
import { extractStage } from '../stages/extract.js';
import { parquetStage } from '../stages/parquet.js';
import { driftCheckStage } from '../stages/drift-check.js';
import { upsertStage } from '../stages/upsert.js';
import { checkpointStage } from '../stages/checkpoint.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { catalogNameOf } from '../duckdb/catalog-name.js';
import { buildExtractSql } from '../stages/extract.js';
import { buildUpsertSql } from '../stages/upsert.js';
import type { ColumnMapping } from '../schema/column.js';
import { join } from 'node:path';

export const STAGES: Record<StageName, Stage> = {
  extract: extractStage,
  parquet: parquetStage,
  'drift-check': driftCheckStage,
  upsert: upsertStage,
  checkpoint: checkpointStage,
};

export interface PlanStep {
  stage: StageName;
  /** The SQL this stage runs for a batch, when it runs any (Postgres for extract, DuckDB for drift-check and upsert). */
  sql?: string | Record<string, string>;
  [detail: string]: unknown;
}

export interface Plan {
  pipeline: string;
  file: string;
  enabled: boolean;
  source: { table: string; primaryKey: string[]; cursor: string; softDelete: string | null; order: string };
  target: { table: string; duckdbPath: string; currentView: string | null };
  batchSize: number;
  schedule: { cron: string; timezone: string; next: string[] };
  schemaEvolution: PipelineSpec['schemaEvolution'];
  /**
   * `known`: the source columns were read from the live table (plan --connect), so every SQL text
   * is exactly what runs. `assumed`: only the columns the pipeline file names are known, so the SQL
   * shows those; `<every column>` stands for the rest and type casts name the column they follow.
   */
  columns: 'known' | 'assumed';
  steps: PlanStep[];
}

/** The live shape of the source, when known (plan --connect): makes the plan's SQL exact. */
export interface SourceShape {
  /** Every synced column, mapped (no refused ones). */
  columns: ColumnMapping[];
  /** Declared types of the cursor and key columns, as `$n::type` casts need them. */
  cursorType: string;
  keyTypes: string[];
  /** The cursor's timestamp type, which the commit-safe horizon is compared in (horizonType() in extract.ts); null: no horizon. */
  horizon: 'timestamptz' | 'timestamp' | null;
}

export interface CompileOptions {
  duckdbPath: string;
  /** Where Parquet batches go (PARQUET_DIR); default `parquet`. */
  parquetDir?: string;
  now?: Date;
  source?: SourceShape;
}

export function compile(spec: PipelineSpec, opts: CompileOptions): Plan {
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent).join(', ');
  const stages: StageName[] = ['extract', 'parquet', 'drift-check', 'upsert', 'checkpoint'];
  const duckdbPath = spec.target.duckdbPath ?? opts.duckdbPath;
  return {
    pipeline: spec.name,
    file: spec.file,
    enabled: spec.enabled,
    source: {
      table: qualified(spec.source.schema, spec.source.table),
      primaryKey: spec.source.primaryKey,
      cursor: spec.source.cursor,
      softDelete: spec.source.softDelete ?? null,
      order,
    },
    target: {
      table: spec.target.table,
      duckdbPath,
      currentView: spec.source.softDelete ? `${spec.target.table}_current` : null,
    },
    batchSize: spec.batchSize,
    schedule: { cron: spec.schedule, timezone: spec.timezone, next: nextFireTimes(spec.schedule, spec.timezone, 3, opts.now) },
    schemaEvolution: spec.schemaEvolution,
    columns: opts.source ? 'known' : 'assumed',
    steps: stages.map((name) => ({ stage: name, ...describeStep(spec, name, { ...opts, duckdbPath }) })),
  };
}

/** The placeholder for the columns a plan without a connection cannot know. */
export const EVERY_COLUMN = '<every column>';

function describeStep(spec: PipelineSpec, name: StageName, opts: CompileOptions & { duckdbPath: string }): Record<string, unknown> {
  const base = STAGES[name].describe();
  const { source } = opts;
  // Without the live table, the columns the file names stand in for the rest (identity expressions, no type).
  const named = [...new Set([spec.source.cursor, ...spec.source.primaryKey, ...(spec.source.softDelete ? [spec.source.softDelete] : [])])];
  const columns: Pick<ColumnMapping, 'name' | 'selectExpr' | 'loadExpr' | 'duckType'>[] =
    source?.columns ?? named.map((n) => ({ name: n, selectExpr: (c: string) => c, loadExpr: (c: string) => c, duckType: `<type of ${n}>` }));
  const withUnknown = (sql: string) => (source ? sql : sql.replace(/(^|\n)SELECT /, `$1SELECT ${EVERY_COLUMN}, `));

  if (name === 'extract') {
    const cursorType = source?.cursorType ?? `<type of ${spec.source.cursor}>`;
    const keyTypes = source?.keyTypes ?? spec.source.primaryKey.map((k) => `<type of ${k}>`);
    // Offline the cursor type is unknown: assume the usual timestamptz, for which the horizon test is added.
    const horizon = source ? source.horizon : 'timestamptz';
    const build = (hasPosition: boolean) =>
      withUnknown(buildExtractSql(spec, columns as ColumnMapping[], cursorType, keyTypes, { hasPosition, horizon }).sql);
    return {
      ...base,
      ...(horizon ? {} : { horizon: 'none: the cursor is not a timestamp' }),
      sql: { 'first batch': build(false), 'next batches': build(true) },
    };
  }
  if (name === 'drift-check') {
    const target = `${duckCatalog(opts.duckdbPath)}.main.${quoteIdent(spec.target.table)}`;
    const defs = [...columns.map((c) => `${quoteIdent(c.name)} ${c.duckType}`), `PRIMARY KEY (${spec.source.primaryKey.map(quoteIdent).join(', ')})`];
    const create = `CREATE TABLE IF NOT EXISTS ${target} (\n  ${source ? '' : `${EVERY_COLUMN},\n  `}${defs.join(',\n  ')}\n)`;
    return { ...base, policy: spec.schemaEvolution, sql: { 'first run': create, 'new source column': `ALTER TABLE ${target} ADD COLUMN <name> <type>` } };
  }
  if (name === 'upsert') {
    const target = `${duckCatalog(opts.duckdbPath)}.main.${quoteIdent(spec.target.table)}`;
    const parquet = join(opts.parquetDir ?? 'parquet', spec.name, '<batch>.parquet');
    const sql = buildUpsertSql(target, quoteIdent('pgduck_batch'), parquet, columns, spec.source.primaryKey, spec.source.cursor, 'replace');
    return {
      ...base,
      sql: {
        ...(sql.load ? { load: withUnknown(sql.load) } : {}),
        delete: sql.delete,
        insert: source ? sql.insert : sql.insert.replace(/\(([^)]*)\)\nSELECT /, `(${EVERY_COLUMN}, $1)\nSELECT ${EVERY_COLUMN}, `),
      },
    };
  }
  return base;
}

/**
 * How the DuckDB file is named in SQL as a person sees it (the DuckDB CLI names a file's catalog
 * after its stem). The runner attaches it under an internal alias; the statements are the same.
 */
function duckCatalog(duckdbPath: string): string {
  return quoteIdent(catalogNameOf(duckdbPath));
}

export function nextFireTimes(cron: string, timezone: string, count: number, from?: Date): string[] {
  const job = new Cron(cron, { timezone, paused: true });
  return job.nextRuns(count, from).map((d) => d.toISOString());
}
