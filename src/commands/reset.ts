/**
 * `pgduck reset <pipeline> [--drop-target]`: forget the checkpoint so the next run bootstraps
 * again. The DuckDB table stays (the re-bootstrap upserts over it) unless --drop-target is given.
 * Parquet history is never deleted.
 */
import { CheckpointStore } from '../state/checkpoint-store.js';
import { withDuckDbFile } from '../duckdb/lake.js';
import { dropTarget } from '../duckdb/target-table.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import { selectPipelines } from './run.js';

export async function resetCommand(settings: Settings, name: string, opts: { dropTarget: boolean }): Promise<number> {
  const specs = selectPipelines(settings, [name], process.stderr);
  if (!specs) return 2;
  const spec = specs[0];
  const store = new CheckpointStore(checkpointDbPath(settings));
  try {
    const had = store.reset(spec.name);
    if (opts.dropTarget) {
      await withDuckDbFile(spec.target.duckdbPath ?? settings.duckdbPath, (s) => dropTarget(s, spec.target.table));
      store.addSchemaEvent(spec.name, 'reset', `target table ${spec.target.table} dropped by reset --drop-target`);
    }
    process.stdout.write(
      `${had ? 'checkpoint cleared' : 'no checkpoint existed'} for ${spec.name}: the next run bootstraps from the beginning` +
        `${opts.dropTarget ? `; DuckDB table ${spec.target.table} dropped` : '; DuckDB data kept (upserted over)'}\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}
