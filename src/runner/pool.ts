/**
 * Run many pipelines concurrently (p-limit), each isolated: one failing pipeline is reported and
 * recorded, and the others go on (rule 9).
 */
import pLimit from 'p-limit';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { runPipeline, type RunDeps, type RunSummary } from './run-pipeline.js';

export type PipelineOutcome = { pipeline: string; ok: true; summary: RunSummary } | { pipeline: string; ok: false; error: Error };

export function createPool(concurrency: number) {
  return pLimit(Math.max(1, concurrency));
}

/** Run one pipeline and record its outcome; never throws. */
export async function runRecorded(spec: PipelineSpec, deps: RunDeps): Promise<PipelineOutcome> {
  try {
    const summary = await runPipeline(spec, deps);
    deps.store.recordRun(spec.name, 'ok');
    deps.log.info(
      { pipeline: spec.name, batches: summary.batches, rows: summary.rows, ms: summary.durationMs, bootstrapDone: summary.bootstrapDone },
      summary.rows > 0 ? 'pipeline synced' : 'pipeline up to date',
    );
    return { pipeline: spec.name, ok: true, summary };
  } catch (err) {
    const error = err as Error;
    deps.store.recordRun(spec.name, 'failed', error.message);
    deps.log.error({ pipeline: spec.name, err: { message: error.message, cause: (error.cause as Error | undefined)?.message } }, error.message);
    return { pipeline: spec.name, ok: false, error };
  }
}

/** `run --once`: every pipeline until drained, `concurrency` at a time. */
export async function runAllOnce(specs: PipelineSpec[], deps: RunDeps, concurrency: number): Promise<PipelineOutcome[]> {
  const limit = createPool(concurrency);
  return Promise.all(specs.map((spec) => limit(() => runRecorded(spec, deps))));
}
