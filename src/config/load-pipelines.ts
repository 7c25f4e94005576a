// TEMPORARY minimal loader: the config helper replaces this file with the full one
// (positions, ${ENV} interpolation, ajv, semantic checks). Keep the exported signature.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parse } from 'yaml';
import type { PipelineSpec } from './pipeline-spec.js';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export interface LoadResult {
  specs: PipelineSpec[];
  problems: ConfigProblem[];
}

export function loadPipelines(paths: string[], env: NodeJS.ProcessEnv = process.env): LoadResult {
  void env;
  const files = paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(p, f))
      : [p],
  );
  const specs: PipelineSpec[] = files.map((file) => {
    const raw = parse(readFileSync(file, 'utf8'));
    const [schema, table] = raw.source.table.includes('.') ? raw.source.table.split('.') : [raw.source.schema ?? 'public', raw.source.table];
    return {
      name: basename(file, extname(file)),
      file,
      source: {
        schema,
        table,
        primaryKey: Array.isArray(raw.source.primary_key) ? raw.source.primary_key : [raw.source.primary_key],
        cursor: raw.source.cursor ?? 'updated_at',
        softDelete: raw.source.soft_delete,
        connection: raw.source.connection,
      },
      target: { table: raw.target.table, duckdbPath: raw.target.duckdb_path },
      batchSize: raw.batch_size ?? 10000,
      schedule: raw.schedule ?? '*/30 * * * * *',
      timezone: raw.timezone ?? 'UTC',
      enabled: raw.enabled ?? true,
      schemaEvolution: raw.schema_evolution ?? 'evolve',
      horizon: { marginMs: raw.horizon?.margin_ms ?? 1000, lookbackSeconds: raw.horizon?.lookback_seconds ?? 300 },
    };
  });
  return { specs, problems: [] };
}
