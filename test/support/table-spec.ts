/**
 * The PipelineSpec of a test table `public.<table>` keyed on `id` with cursor `updated_at`, as the
 * config loader would build it from a minimal file; tests that drive stages or the runner directly
 * (without a pipeline file) start from it.
 */
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';

export function tableSpec(table: string, batchSize: number): PipelineSpec {
  return {
    name: table,
    file: `${table}.yml`,
    source: {
      schema: 'public',
      table,
      primaryKey: ['id'],
      cursor: 'updated_at',
      softDeleteMode: 'keep',
      nullCursor: 'include',
      onRecreate: 'stop',
      hardDeleteMode: 'remove',
    },
    target: { schema: 'main', table },
    batchSize,
    schedule: '* * * * *',
    timezone: 'UTC',
    enabled: true,
    schemaEvolution: 'evolve',
    horizon: { marginMs: 0, lookbackSeconds: 0 },
  };
}
