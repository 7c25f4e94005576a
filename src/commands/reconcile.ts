/**
 * `pgduck reconcile [name…] [--json]`: find the rows a cursor cannot see go away (hard `DELETE`,
 * `TRUNCATE`) and remove them from DuckDB (or mark them: hard_delete_mode mark), with plain SQL, no CDC. What one pipeline's reconcile
 * does is src/repair/reconcile-pipeline.ts (the service runs the same on a pipeline's `reconcile:`
 * schedule).
 *
 * The outcome is recorded in the state store for `pgduck status`. The checkpoint never moves.
 * Exit codes: 0 done (also when it removed or marked rows), 1 a pipeline could not be reconciled, 2 usage,
 * 3 invalid configuration, 75 stopped by SIGTERM/SIGINT before it finished (recorded as stopped).
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
  // SIGTERM / SIGINT: the reconcile in flight stops at its next key range (nothing of its unfinished
  // round applied) and is recorded as stopped; the pipelines after it are not started. A second signal exits at once.
  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('stopping: the reconcile in flight ends at its next key range (send again to exit at once)\n');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    for (const pipeline of pipelines) {
      if (stop) break;
      const r = await reconcilePipeline(pipeline, store, { shouldStop: () => stop });
      results.push(r);
      if (!opts.json) process.stdout.write(formatReconcile(r));
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    store.close();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ pipelines: results }, null, 2)}\n`);
  if (results.some((r) => r.error)) return KIND_OUTCOMES.internal.exitCode;
  // Stopped is not failed: what was applied stands; running it again finishes the job.
  return stop ? KIND_OUTCOMES.transient.exitCode : 0;
}
