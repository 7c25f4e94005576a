/**
 * The checks every run of a pipeline makes before it reads a row: the live rules whose breach would
 * silently lose or mix rows (judge-source.ts marks them `blocksRun`; `validate --connect` states the
 * same rules, with the same words). A few catalog queries per run, not per batch.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { judgeSource } from '../live/judge-source.js';
import type { PgClient } from '../postgres/connect.js';
import { inspectSource } from '../postgres/inspect-source.js';
import { SourceRefusedError } from './source-refused-error.js';

/** Throws SourceRefusedError when a blocking rule fails. A missing table is left to the extract (it says so itself). */
export async function guardSource(spec: PipelineSpec, pg: PgClient): Promise<void> {
  const relation = await inspectSource(pg, spec.source.schema, spec.source.table);
  if (!relation) return;
  const role = String((await pg.query<{ role: string }>('SELECT current_user AS role')).rows[0].role);
  const blocking = judgeSource(spec, { relation, role }).filter((issue) => issue.blocksRun && issue.severity === 'error');
  if (blocking.length > 0) throw new SourceRefusedError(spec.name, blocking);
}
