import { parseTableName } from './parse-table-name.js';
import { resolveTargetName } from './target-name.js';
import { PgduckError } from '../errors/pgduck-error.js';
import { schemaDefault } from './pipeline-file-schema.js';
import type { PipelineFile } from './pipeline-schema.js';
import type { PipelineSpec } from './pipeline-spec.js';
import { KEEP_ALL, parseKeep } from '../history/keep-policy.js';

// Defaults are read from the schema so the editor hints, ajv and the spec cannot disagree.
let cachedDefaults: ReturnType<typeof readDefaults> | undefined;
function readDefaults() {
  return {
    schema: schemaDefault<string>(['source', 'schema']),
    cursor: schemaDefault<string>(['source', 'cursor']),
    nullCursor: schemaDefault<PipelineSpec['source']['nullCursor']>(['source', 'null_cursor']),
    softDeleteMode: schemaDefault<PipelineSpec['source']['softDeleteMode']>(['source', 'soft_delete_mode']),
    onRecreate: schemaDefault<PipelineSpec['source']['onRecreate']>(['source', 'on_recreate']),
    hardDeleteMode: schemaDefault<PipelineSpec['source']['hardDeleteMode']>(['source', 'hard_delete_mode']),
    batchSize: schemaDefault<number>(['batch_size']),
    schedule: schemaDefault<string>(['schedule']),
    timezone: schemaDefault<string>(['timezone']),
    enabled: schemaDefault<boolean>(['enabled']),
    schemaEvolution: schemaDefault<PipelineSpec['schemaEvolution']>(['schema_evolution']),
    marginMs: schemaDefault<number>(['horizon', 'margin_ms']),
    lookbackSeconds: schemaDefault<number>(['horizon', 'lookback_seconds']),
  };
}

/**
 * Normalizes one pipeline file that passed every check into the PipelineSpec the runner consumes:
 * defaults applied, `primaryKey` always a list, `schema.table` split. Throws on a table name the
 * checks should have refused (a loader bug, not a user error).
 */
export function buildPipelineSpec(name: string, file: string, data: PipelineFile): PipelineSpec {
  const parsed = parseTableName(data.source.table);
  if ('error' in parsed)
    throw new PgduckError(`buildPipelineSpec: ${file}: source.table ${parsed.error} (should have been reported by semantic checks)`, {
      kind: 'internal',
      code: 'INTERNAL',
    });
  const { source, target } = data;
  const targetName = resolveTargetName(target.table, target.schema);
  if ('error' in targetName)
    throw new PgduckError(`buildPipelineSpec: ${file}: target.table ${targetName.error} (should have been reported by semantic checks)`, {
      kind: 'internal',
      code: 'INTERNAL',
    });
  const defaults = (cachedDefaults ??= readDefaults());
  const timezone = data.timezone ?? defaults.timezone;
  return {
    name,
    file,
    source: {
      schema: parsed.schema ?? source.schema ?? defaults.schema,
      table: parsed.table,
      primaryKey: typeof source.primary_key === 'string' ? [source.primary_key] : [...source.primary_key],
      cursor: source.cursor ?? defaults.cursor,
      ...(source.soft_delete !== undefined && { softDelete: source.soft_delete }),
      softDeleteMode: source.soft_delete_mode ?? defaults.softDeleteMode,
      nullCursor: source.null_cursor ?? defaults.nullCursor,
      onRecreate: source.on_recreate ?? defaults.onRecreate,
      hardDeleteMode: source.hard_delete_mode ?? defaults.hardDeleteMode,
      ...(source.cursor_timezone !== undefined && { cursorTimezone: source.cursor_timezone }),
      // An include written in the pipeline file replaces an exclude inherited from _defaults.yml (both written in one file is refused by the checks).
      ...(source.columns?.include !== undefined
        ? { columns: { include: [...source.columns.include] } }
        : source.columns?.exclude !== undefined && source.columns.exclude.length > 0 && { columns: { exclude: [...source.columns.exclude] } }),
      ...(source.connection !== undefined && { connection: source.connection }),
    },
    target: {
      schema: targetName.schema,
      table: targetName.table,
      ...(target.duckdb_path !== undefined && { duckdbPath: target.duckdb_path }),
      // Only when off: a pipeline that leaves it out keeps the target digest it had (target-check.ts).
      ...(target.key_index === false && { keyIndex: false as const }),
    },
    batchSize: data.batch_size ?? defaults.batchSize,
    // Only when written: a pipeline that leaves it out reads its bootstrap as one stream, as before.
    ...(data.bootstrap?.parallel !== undefined && { bootstrap: { parallel: data.bootstrap.parallel } }),
    schedule: data.schedule ?? defaults.schedule,
    timezone,
    enabled: data.enabled ?? defaults.enabled,
    schemaEvolution: data.schema_evolution ?? defaults.schemaEvolution,
    horizon: {
      marginMs: data.horizon?.margin_ms ?? defaults.marginMs,
      lookbackSeconds: data.horizon?.lookback_seconds ?? defaults.lookbackSeconds,
    },
    // The schema admits only what parseKeep reads; left out, the default (`all`: keep everything).
    ...(data.history?.keep !== undefined && { history: { keep: parseKeep(data.history.keep) ?? KEEP_ALL } }),
    ...(data.reconcile !== undefined && { reconcile: { schedule: data.reconcile.schedule, timezone: data.reconcile.timezone ?? timezone } }),
  };
}
