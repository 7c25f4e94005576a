/**
 * A repair (`pgduck reconcile` or `pgduck verify --repair`, started by hand while `pgduck run` is up)
 * changed the target between a run's read of a batch and that batch's DuckDB session. The runner's
 * lock does not keep a repair out: the two meet only on the DuckDB file, which a run does not hold
 * while it reads. Applying the rows read before the repair would undo it: a row deleted in the
 * source and removed by the reconcile was inserted again, reported synced (found by review), and the
 * batch's file took a history number the repair had taken.
 *
 * A repair counts the history numbers it takes in the state store before it changes DuckDB, and
 * holds the file while it does; each DuckDB session of a run compares that count, once it holds the
 * file, with the count the run last left there itself. When they differ, the batches in hand are
 * dropped (nothing of them is applied; a Parquet file written ahead of its session is set aside as
 * uncommitted, by the repair or by the next run) and runPipeline (src/runner/run-pipeline.ts) runs
 * the pipeline again from its checkpoint, once: it reads those rows again, after the repair.
 */
import { causeChain, PgduckError } from '../errors/pgduck-error.js';

export class RepairedDuringRunError extends PgduckError {
  constructor(
    readonly pipeline: string,
    readonly counted: number,
    readonly now: number,
  ) {
    super(
      `a repair (pgduck reconcile or verify --repair) changed the target while this run held rows it had read before it ` +
        `(history count ${counted}, now ${now}): those rows were not applied; the pipeline reads them again from its checkpoint`,
      // Not meant to escape runPipeline, which starts the run over; if it does (a second repair meanwhile), running again does it.
      { kind: 'transient', code: 'REPAIRED_DURING_RUN' },
    );
    this.name = 'RepairedDuringRunError';
  }
}

/** The RepairedDuringRunError a run failed with, if that is what it failed with (its cause chain is searched). */
export function findRepairedDuringRun(error: unknown): RepairedDuringRunError | null {
  return (causeChain(error).find((e) => e instanceof RepairedDuringRunError) as RepairedDuringRunError | undefined) ?? null;
}
