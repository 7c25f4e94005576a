/**
 * A pipeline with its defaults settled: where its DuckDB file is, where its Parquet history goes,
 * which Postgres it reads. Built once where pipelines are selected (src/config/select-pipelines.ts),
 * so no stage, command or runner resolves `target.duckdb_path ?? --duckdb` on its own.
 */
import type { PipelineSpec } from './pipeline-spec.js';

/** The command's own settings the pipeline falls back on (flags, else environment, else defaults). */
export interface PipelineDefaults {
  duckdbPath: string;
  parquetDir: string;
  /** DATABASE_URL (or POSTGRES_*); null when none is configured. */
  databaseUrl: string | null;
}

export interface ResolvedPipeline {
  spec: PipelineSpec;
  /** target.duckdb_path, else the command's DuckDB file. */
  duckdbPath: string;
  parquetDir: string;
  /** source.connection, else DATABASE_URL; null when neither is set. Never print it: use redactUrl(). */
  connection: string | null;
}

export function resolvePipeline(spec: PipelineSpec, defaults: PipelineDefaults): ResolvedPipeline {
  return {
    spec,
    duckdbPath: spec.target.duckdbPath ?? defaults.duckdbPath,
    parquetDir: defaults.parquetDir,
    connection: spec.source.connection ?? defaults.databaseUrl,
  };
}
