/**
 * What watches the runs of `pgduck run`, as RunDeps hooks: the service's metrics (per batch, when
 * `--listen` serves them) and the terminal's progress bars (bootstraps, when stderr is a terminal).
 * Either, both or neither; neither changes what a run does.
 */
import type { TerminalProgress } from '../log/terminal-progress.js';
import type { ServiceEndpoints } from './health-server.js';
import type { RunDeps } from './run-pipeline.js';

export function runHooks(endpoints: ServiceEndpoints | null, progress: TerminalProgress | undefined): Pick<RunDeps, 'onBatch' | 'onBootstrap' | 'onRunEnd'> {
  if (!progress) return endpoints ? { onBatch: endpoints.onBatch } : {};
  return {
    onBatch: (pipeline, batch) => {
      endpoints?.onBatch(pipeline, batch);
      progress.advance(pipeline, batch.rowCount);
    },
    onBootstrap: (pipeline, p) => progress.begin(pipeline, p),
    onRunEnd: (pipeline) => progress.end(pipeline),
  };
}
