/**
 * `pgduck reconcile [name…] [--json]`: find the rows a cursor cannot see go away (hard `DELETE`,
 * `TRUNCATE`) and remove them from DuckDB, with plain SQL, no CDC. What one pipeline's reconcile
 * does is src/repair/reconcile-pipeline.ts (the service runs the same on a pipeline's `reconcile:`
 * schedule).
 *
 * The outcome is recorded in the state store for `pgduck status`. The checkpoint never moves.
 * Exit codes: 0 done (also when it removed rows), 1 a pipeline could not be reconciled, 2 usage,
 * 3 invalid configuration.
 */
import { selectLivePipelines } from '../config/select-pipelines.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { formatReconcile, reconcilePipeline } from '../repair/reconcile-pipeline.js';
import { CheckpointStore, type ReconcileRecord } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';

export async function reconcileCommand(settings: Settings, names: string[], opts: { json: boolean }): Promise<number> {
  const pipelines = selectLivePipelines(settings, names, process.stderr);
  if ('refused' in pipelines) return KIND_OUTCOMES[pipelines.refused].exitCode;
  const store = new CheckpointStore(checkpointDbPath(settings));
  const results: ReconcileRecord[] = [];
  try {
    for (const pipeline of pipelines) {
      const r = await reconcilePipeline(pipeline, store);
      results.push(r);
      if (!opts.json) process.stdout.write(formatReconcile(r));
    }
  } finally {
    store.close();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ pipelines: results }, null, 2)}\n`);
  return results.some((r) => r.error) ? KIND_OUTCOMES.internal.exitCode : 0;
}
