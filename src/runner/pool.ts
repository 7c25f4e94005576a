/**
 * Run many pipelines concurrently (p-limit), each isolated: one failing pipeline is reported and
 * recorded, and the others go on (rule 9).
 */
import pLimit from 'p-limit';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { scrubPassword } from '../postgres/explain-connect-error.js';
import { redactUrl } from '../sql/redact.js';
import type { ErrorCode, ErrorKind, PgduckError } from '../errors/pgduck-error.js';
import { encodeFailure } from '../errors/recorded-failure.js';
import { classifyFailure } from './classify-failure.js';
import { runPipeline, type RunDeps, type RunSummary } from './run-pipeline.js';
import { compilePipeline } from './compile.js';
import { observeRun, type RunStats } from './run-observer.js';

/**
 * A failed pipeline carries its message already cleaned of secrets: print and record `message`, not
 * `error.message`. Its kind decides the exit code of `run --once` (src/errors/exit-codes.ts).
 */
export type PipelineOutcome =
  | { pipeline: string; ok: true; summary: RunSummary; stats: RunStats }
  | { pipeline: string; ok: false; error: PgduckError; message: string; kind: ErrorKind; code: ErrorCode };

export function createPool(concurrency: number) {
  return pLimit(Math.max(1, concurrency));
}

/**
 * Run one pipeline and record its outcome for `pgduck status`. Never throws (not even when the
 * state store cannot record the outcome): a scheduler fires it and forgets, and one pipeline's
 * failure must not reach the others.
 */
export async function runRecorded(
  pipeline: ResolvedPipeline,
  deps: RunDeps,
  /** `record`: asked when the run ends; false leaves the state store's last run as it is (the scheduler: a pipeline unscheduled meanwhile). */
  opts: { logFailure?: boolean; record?: () => boolean } = {},
): Promise<PipelineOutcome> {
  const { spec } = pipeline;
  const started = Date.now();
  const observer = observeRun(deps.log);
  const runDeps: RunDeps = {
    ...deps,
    log: observer.log,
    onStep: (stage, batch, name) => {
      observer.onStep(stage, batch);
      return deps.onStep?.(stage, batch, name);
    },
  };
  let outcome: PipelineOutcome;
  try {
    // Compiled per run: what runs is the plan `pgduck plan` prints for this file as it is now.
    const summary = await runPipeline(compilePipeline(pipeline), runDeps);
    const stats: RunStats = { bytes: summary.bytes, stageMs: observer.stageMs(summary.durationMs) };
    outcome = { pipeline: spec.name, ok: true, summary, stats };
    // One INFO line per run that changed something (rows, or a backfill's files); "nothing to do" only at DEBUG (README "Logs").
    const changed = summary.rows > 0 || summary.bytes > 0;
    deps.log[changed ? 'info' : 'debug'](
      {
        pipeline: spec.name,
        rows: summary.rows,
        batches: summary.batches,
        bytes: stats.bytes,
        ms: summary.durationMs,
        stages: stats.stageMs,
        bootstrapDone: summary.bootstrapDone,
      },
      changed ? 'pipeline synced' : 'pipeline up to date',
    );
  } catch (err) {
    const error = classifyFailure(err);
    const clean = (text: string) => withoutSecrets(text, [pipeline.connection]);
    const message = clean(error.message);
    outcome = { pipeline: spec.name, ok: false, error, message, kind: error.kind, code: error.code };
    if (opts.logFailure !== false) {
      const cause = error.cause instanceof Error ? clean(error.cause.message) : undefined;
      deps.log.error({ pipeline: spec.name, error: { message, cause, kind: error.kind, code: error.code, fix: error.fix } }, message);
    }
  }
  if (opts.record?.() === false) return outcome;
  try {
    const facts = outcome.ok
      ? { durationMs: outcome.summary.durationMs, rows: outcome.summary.rows, bytes: outcome.stats.bytes }
      : { durationMs: Date.now() - started, rows: 0 };
    deps.store.recordRun(spec.name, outcome.ok ? 'ok' : 'failed', outcome.ok ? undefined : encodeFailure(outcome), facts);
  } catch (err) {
    // The state store itself failed (a full disk, a lock held too long): say so; the run's outcome stands.
    deps.log.error(
      { pipeline: spec.name, error: { message: (err as Error).message } },
      `could not record the outcome of ${spec.name} in the state store (pgduck status will not show it): ${(err as Error).message}`,
    );
  }
  if (outcome.ok && outcome.summary.targetRows !== undefined) recordTargetRows(pipeline, deps, outcome.summary.targetRows);
  if (outcome.ok && outcome.summary.sourceWalLsn !== undefined) recordSourceWalLsn(pipeline, deps, outcome.summary.sourceWalLsn);
  return outcome;
}

/**
 * After a run that changed the table, its rows as the run counted them at its end (runPipeline), so
 * `pgduck status` can show them without opening the DuckDB file (which the runner may hold). Best
 * effort: a failure leaves the last count.
 */
function recordTargetRows(pipeline: ResolvedPipeline, deps: RunDeps, rows: number): void {
  try {
    deps.store.recordTargetRows(pipeline.spec.name, rows);
  } catch (err) {
    deps.log.debug({ pipeline: pipeline.spec.name, error: { message: (err as Error).message } }, 'could not record the rows of the target table');
  }
}

/**
 * After a run that succeeded, the source's WAL position as it began reading, so the next run can
 * tell a cluster put back to an older copy of itself (source-identity.ts `wentBack`). Best effort: a
 * failure leaves an older position, which can only make that check see less, never wrongly.
 */
function recordSourceWalLsn(pipeline: ResolvedPipeline, deps: RunDeps, walLsn: string): void {
  try {
    deps.store.recordSourceWalLsn(pipeline.spec.name, walLsn);
  } catch (err) {
    deps.log.debug({ pipeline: pipeline.spec.name, error: { message: (err as Error).message } }, "could not record the source's WAL position");
  }
}

/** `run --once`: every pipeline until drained, `concurrency` at a time. */
export async function runAllOnce(pipelines: ResolvedPipeline[], deps: RunDeps, concurrency: number): Promise<PipelineOutcome[]> {
  const limit = createPool(concurrency);
  return Promise.all(pipelines.map((pipeline) => limit(() => runRecorded(pipeline, deps))));
}

/**
 * Messages go to stdout, logs and the state store: whatever a driver put in them, no password
 * reaches any of the three. The known connection strings are scrubbed, then any other
 * `scheme://user:secret@` that slipped in is redacted.
 */
export function withoutSecrets(text: string, urls: (string | null | undefined)[]): string {
  let out = text;
  for (const url of urls) if (url) out = scrubPassword(out, url);
  return out.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`]+@[^\s"'`]+/gi, (url) => redactUrl(url));
}
