/**
 * One error type for a failed batch: where it failed and what state it left. The runner never
 * moves the checkpoint after one of these.
 */
import type { StageName } from '../stages/stage.js';
import type { Position } from '../state/checkpoint-store.js';

export interface StageErrorContext {
  pipeline: string;
  stage: StageName | 'setup';
  batch?: number;
  /** The checkpoint the next run starts from (null: from the beginning). */
  resumeFrom: Position | null;
}

export class StageError extends Error {
  readonly context: StageErrorContext;

  constructor(context: StageErrorContext, options: { cause: unknown }) {
    const cause = options.cause as Error;
    const where = context.batch !== undefined ? `${context.stage} (batch ${context.batch})` : context.stage;
    const resume = context.resumeFrom
      ? `next run re-reads from ${context.resumeFrom.cursor} / ${context.resumeFrom.key.join(', ')}`
      : 'next run starts from the beginning of the table';
    super(`pipeline ${context.pipeline} failed in ${where}: ${cause?.message ?? String(cause)} — checkpoint not advanced; ${resume}`, options);
    this.name = 'StageError';
    this.context = context;
  }
}
