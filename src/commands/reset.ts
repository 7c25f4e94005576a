/**
 * `pgduck reset <pipeline> [--drop-target]`: forget the checkpoint so the next run bootstraps
 * again. The DuckDB table stays (the re-bootstrap upserts over it) unless --drop-target is given.
 * Parquet history is never deleted.
 *
 * Reset is a recovery command, so it reads only the named pipeline's own file (with the shared
 * defaults it inherits, which may say where its DuckDB file is), and only what it
 * needs (the target table, for --drop-target): another file being invalid, or this file's
 * `${VAR}` being unset, does not block it. A run in flight when the reset lands cannot write its
 * position back (the checkpoint's generation moves on).
 */
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { withDuckDbFile } from '../duckdb/lake.js';
import { dropTarget, targetLabel, type TargetName } from '../duckdb/target-table.js';
import { DEFAULT_TARGET_SCHEMA, resolveTargetName } from '../config/target-name.js';
import { expandPipelinePaths } from '../config/expand-pipeline-paths.js';
import { loadOnePipelineFile } from '../config/load-pipelines.js';
import { formatProblems } from '../config/format-problems.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';

export async function resetCommand(settings: Settings, name: string, opts: { dropTarget: boolean }): Promise<number> {
  const files = expandPipelinePaths([settings.pipelinesDir]).files.filter((f) => basename(f, extname(f)) === name);
  const loaded = files.length === 1 ? loadOnePipelineFile(files[0], process.env) : null;
  const target = loaded?.spec
    ? { name: { schema: loaded.spec.target.schema, table: loaded.spec.target.table }, duckdbPath: loaded.spec.target.duckdbPath }
    : loaded?.identity.target
      ? { name: identityTarget(loaded.identity.target), duckdbPath: loaded.identity.target.duckdbPath }
      : null;
  if (files.length > 1) {
    process.stderr.write(`pipeline name ${name} is used by ${files.join(' and ')}: rename one (pgduck validate says the same)\n`);
    return KIND_OUTCOMES.config.exitCode;
  }
  const store = new CheckpointStore(checkpointDbPath(settings));
  try {
    if (files.length === 0 && !store.get(name)) {
      process.stderr.write(`unknown pipeline: ${name} (no ${name}.yml in ${settings.pipelinesDir} and no checkpoint in ${store.path})\n`);
      return KIND_OUTCOMES.usage.exitCode;
    }
    if (opts.dropTarget && !target) {
      const why = files.length === 0 ? `there is no ${name}.yml in ${settings.pipelinesDir}` : `${files[0]} does not name it`;
      process.stderr.write(`--drop-target needs the pipeline's target table, and ${why}; nothing was reset\n${formatProblems(loaded?.problems ?? [])}`);
      return KIND_OUTCOMES.usage.exitCode;
    }
    const duckdbPath = target?.duckdbPath ?? settings.duckdbPath;
    // A missing file has no table to drop (and opening it would create an empty one).
    const drop = opts.dropTarget && target !== null && existsSync(duckdbPath);
    if (drop) {
      // First, so that a DuckDB file locked by a running `pgduck run` fails the reset before the checkpoint is touched.
      await withDuckDbFile(duckdbPath, (s) => dropTarget(s, target.name));
    }
    const had = store.reset(name);
    if (drop) store.addSchemaEvent(name, 'reset', `target table ${targetLabel(target!.name)} dropped by reset --drop-target`);
    process.stdout.write(
      `${had ? 'checkpoint cleared' : 'no checkpoint existed'} for ${name}: the next run bootstraps from the beginning` +
        `${drop ? `; DuckDB table ${targetLabel(target!.name)} dropped` : opts.dropTarget ? `; ${duckdbPath} does not exist: no table to drop` : '; DuckDB data kept (upserted over)'}\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}

/** A file with other problems still names its target: what --drop-target drops (read as the loader would). */
function identityTarget(target: { table: string; schema?: string }): TargetName {
  const resolved = resolveTargetName(target.table, target.schema);
  return 'error' in resolved ? { schema: DEFAULT_TARGET_SCHEMA, table: target.table } : resolved;
}
