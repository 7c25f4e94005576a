/**
 * STAGES: every stage, by name, and the order a plan runs them in. compile() describes a pipeline
 * with these, and the runner executes the plan's steps with the same objects: what `pgduck plan`
 * prints is what runs.
 */
import type { ReadContext, Stage, StageName } from './stage.js';
import { extractStage } from './extract.js';
import { parquetStage } from './parquet.js';
import { driftCheckStage } from './drift-check.js';
import { compactStage } from './compact.js';
import { backfillStage } from './backfill.js';
import { upsertStage } from './upsert.js';
import { checkpointStage } from './checkpoint.js';

export const STAGES: { extract: Stage<ReadContext> } & Record<Exclude<StageName, 'extract'>, Stage> = {
  extract: extractStage,
  parquet: parquetStage,
  'drift-check': driftCheckStage,
  compact: compactStage,
  backfill: backfillStage,
  upsert: upsertStage,
  checkpoint: checkpointStage,
};

/**
 * The steps of every batch, in order. The checkpoint is last (rule 5: Parquet → DuckDB → SQLite);
 * the backfill runs after the drift check that records it and before the batch is upserted, so a
 * batch never lands on a table whose older rows still miss a column's values. The compaction follows
 * the drift check, whose catalog read of the table it decides on, and comes before any row of the
 * run is applied.
 */
export const STAGE_ORDER: readonly StageName[] = ['extract', 'parquet', 'drift-check', 'compact', 'backfill', 'upsert', 'checkpoint'];
