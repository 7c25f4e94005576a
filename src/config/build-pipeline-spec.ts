import { parseTableName } from './parse-table-name.js';
import { HorizonSchema, PipelineFileSchema, SourceSchema, type PipelineFile } from './pipeline-schema.js';
import type { PipelineSpec } from './pipeline-spec.js';

// Defaults are read from the schema so the editor hints, ajv and the spec cannot disagree.
const defaults = {
  schema: SourceSchema.properties.schema.default as string,
  cursor: SourceSchema.properties.cursor.default as string,
  batchSize: PipelineFileSchema.properties.batch_size.default as number,
  schedule: PipelineFileSchema.properties.schedule.default as string,
  timezone: PipelineFileSchema.properties.timezone.default as string,
  enabled: PipelineFileSchema.properties.enabled.default as boolean,
  schemaEvolution: PipelineFileSchema.properties.schema_evolution.default as PipelineSpec['schemaEvolution'],
  marginMs: HorizonSchema.properties.margin_ms.default as number,
  lookbackSeconds: HorizonSchema.properties.lookback_seconds.default as number,
};

/**
 * Normalizes one pipeline file that passed every check into the PipelineSpec the runner consumes:
 * defaults applied, `primaryKey` always a list, `schema.table` split. Throws on a table name the
 * checks should have refused (a loader bug, not a user error).
 */
export function buildPipelineSpec(name: string, file: string, data: PipelineFile): PipelineSpec {
  const parsed = parseTableName(data.source.table);
  if ('error' in parsed) throw new Error(`buildPipelineSpec: ${file}: source.table ${parsed.error} (should have been reported by semantic checks)`);
  const { source, target } = data;
  return {
    name,
    file,
    source: {
      schema: parsed.schema ?? source.schema ?? defaults.schema,
      table: parsed.table,
      primaryKey: typeof source.primary_key === 'string' ? [source.primary_key] : [...source.primary_key],
      cursor: source.cursor ?? defaults.cursor,
      ...(source.soft_delete !== undefined && { softDelete: source.soft_delete }),
      ...(source.connection !== undefined && { connection: source.connection }),
    },
    target: {
      table: target.table,
      ...(target.duckdb_path !== undefined && { duckdbPath: target.duckdb_path }),
    },
    batchSize: data.batch_size ?? defaults.batchSize,
    schedule: data.schedule ?? defaults.schedule,
    timezone: data.timezone ?? defaults.timezone,
    enabled: data.enabled ?? defaults.enabled,
    schemaEvolution: data.schema_evolution ?? defaults.schemaEvolution,
    horizon: {
      marginMs: data.horizon?.margin_ms ?? defaults.marginMs,
      lookbackSeconds: data.horizon?.lookback_seconds ?? defaults.lookbackSeconds,
    },
  };
}
