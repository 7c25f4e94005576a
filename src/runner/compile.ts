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

export const STAGES: Record<StageName, Stage> = {
  extract: extractStage,
  parquet: parquetStage,
  'drift-check': driftCheckStage,
  upsert: upsertStage,
  checkpoint: checkpointStage,
};

export interface PlanStep {
  stage: StageName;
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
  steps: PlanStep[];
}

export interface CompileOptions {
  duckdbPath: string;
  now?: Date;
}

export function compile(spec: PipelineSpec, opts: CompileOptions): Plan {
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent).join(', ');
  const stages: StageName[] = ['extract', 'parquet', 'drift-check', 'upsert', 'checkpoint'];
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
      duckdbPath: spec.target.duckdbPath ?? opts.duckdbPath,
      currentView: spec.source.softDelete ? `${spec.target.table}_current` : null,
    },
    batchSize: spec.batchSize,
    schedule: { cron: spec.schedule, timezone: spec.timezone, next: nextFireTimes(spec.schedule, spec.timezone, 3, opts.now) },
    schemaEvolution: spec.schemaEvolution,
    steps: stages.map((name) => ({ stage: name, ...describeStep(spec, name) })),
  };
}

function describeStep(spec: PipelineSpec, name: StageName): Record<string, unknown> {
  const base = STAGES[name].describe();
  if (name === 'extract') {
    const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent);
    return {
      ...base,
      sql:
        `SELECT <columns> FROM ${qualified(spec.source.schema, spec.source.table)}\n` +
        `WHERE (${order.join(', ')}) > ($cursor, ${spec.source.primaryKey.map((k) => `$${k}`).join(', ')})\n` +
        `ORDER BY ${order.join(', ')}\nLIMIT ${spec.batchSize}`,
    };
  }
  if (name === 'drift-check') return { ...base, policy: spec.schemaEvolution };
  return base;
}

export function nextFireTimes(cron: string, timezone: string, count: number, from?: Date): string[] {
  const job = new Cron(cron, { timezone, paused: true });
  return job.nextRuns(count, from).map((d) => d.toISOString());
}
