/**
 * A failed batch: where it failed and what state it left. The runner never moves the checkpoint
 * after one of these. Its kind, code and fix are those of its cause (classified by
 * classifyFailure), so a dropped connection stays transient and an incompatible drift stays
 * needs-action however many layers wrap them.
 *
 *   pipeline orders failed in extract (batch 7): the connection to Postgres was lost (…) — 6 batches
 *   of this run are committed (3000 rows); checkpoint not advanced past them; next run re-reads from
 *   2026-01-05 10:31:12.004113+00 / 2100
 */
import type { StageName } from '../stages/stage.js';
import type { Position } from '../state/checkpoint-store.js';
import { PgduckError } from '../errors/pgduck-error.js';
import { classifyFailure } from './classify-failure.js';

export interface StageErrorContext {
  pipeline: string;
  /** `setup`: before the first batch (connecting to Postgres, opening the DuckDB file). */
  stage: StageName | 'setup';
  batch?: number;
  /** The checkpoint the next run starts from (null: from the beginning). */
  resumeFrom: Position | null;
  /** Batches of this run committed (DuckDB and checkpoint) before the failure. */
  committed?: { batches: number; rows: number };
}

export class StageError extends PgduckError {
  readonly context: StageErrorContext;

  constructor(context: StageErrorContext, options: { cause: unknown }) {
    const where = context.batch !== undefined ? `${context.stage} (batch ${context.batch})` : context.stage;
    const resume = context.resumeFrom
      ? `next run re-reads from ${context.resumeFrom.cursor} / ${context.resumeFrom.key.join(', ')}`
      : 'next run starts from the beginning of the table';
    const committed = context.committed?.batches
      ? `${context.committed.batches} batch${context.committed.batches === 1 ? '' : 'es'} of this run committed (${context.committed.rows} rows); checkpoint not advanced past them`
      : 'checkpoint not advanced';
    const cause = classifyFailure(options.cause);
    super(`pipeline ${context.pipeline} failed in ${where}: ${cause.message} — ${committed}; ${resume}`, {
      kind: cause.kind,
      code: cause.code,
      fix: cause.fix,
      cause: options.cause,
    });
    this.name = 'StageError';
    this.context = context;
  }
}
