/**
 * One pipeline's hard-delete reconcile, as `pgduck reconcile` and the service's `reconcile:`
 * schedule (src/runner/pipeline-reconcile.ts) both run it: find the rows a cursor cannot see go away
 * (hard `DELETE`, `TRUNCATE`) and remove them from DuckDB (hard_delete_mode remove) or mark them in its
 * `_pgduck_deleted_at` column (hard_delete_mode mark), with plain SQL, no CDC.
 *
 * How: verify's range hashing (src/verify/verify-table.ts) on the key columns only: both sides count
 * and hash their keys per key range, and only ranges that differ are cut further, down to the keys.
 * Idle it reads each table's keys once (a Postgres index-only scan when the visibility map allows)
 * and ships only aggregates. Keys the target has and the source does not ("extra") are then read
 * again from Postgres, now, by key (src/repair/repair-rows.ts): a key still gone is removed; a key
 * back in the source since it was hashed (re-inserted, or inserted after the hash) is written, never
 * removed. Keys the source has and the target not yet are left to the next run (the cursor sees
 * them). Under soft_delete_mode remove, a tombstoned row counts as gone, as in verify.
 *
 * The outcome is recorded in the state store for `pgduck status`, a failure with its kind and code
 * and without the connection's password. Never throws. The checkpoint's position never moves.
 */
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import type { OpenDuckDb } from '../duckdb/lake.js';
import { classifyFailure } from '../runner/classify-failure.js';
import { withoutSecrets } from '../runner/pool.js';
import type { CheckpointStore, ReconcileRecord } from '../state/checkpoint-store.js';
import { RepairStoppedError, repairRows } from './repair-rows.js';
import { goneOutcome } from '../report/gone-outcome.js';
import { verifyPipeline } from './verify-pipeline.js';

/** Keys gone per round (verify's limit); a round that finds as many goes on with another. */
const ROUND_KEYS = 50_000;
const MAX_ROUNDS = 20;

export interface ReconcileOptions {
  /** How to open the DuckDB file: the service passes its Lake's (one instance per file per process); default an instance of its own. */
  openDuckDb?: OpenDuckDb;
  /**
   * Asked between key ranges and between reads (SIGTERM to `pgduck reconcile`, the service stopping):
   * true ends the reconcile at once, recorded as stopped, with nothing of the unfinished round applied.
   */
  shouldStop?: () => boolean;
}

export async function reconcilePipeline(pipeline: ResolvedPipeline, store: CheckpointStore, opts: ReconcileOptions = {}): Promise<ReconcileRecord> {
  const started = Date.now();
  const record: ReconcileRecord = {
    pipeline: pipeline.spec.name,
    at: new Date().toISOString(),
    durationMs: 0,
    sourceKeys: 0,
    targetKeys: 0,
    gone: 0,
    removed: 0,
    marked: 0,
    mode: pipeline.spec.source.hardDeleteMode,
    stopped: false,
    rowsRead: 0,
    sourceRowsHashed: 0,
    sourceRowsFetched: 0,
    error: null,
    errorKind: null,
    errorCode: null,
  };
  const clean = (text: string) => withoutSecrets(text, [pipeline.connection]);
  const shouldStop = opts.shouldStop ?? (() => false);
  // hard_delete_mode mark: every row this reconcile marks carries the time it started.
  const markedAt = new Date(record.at);
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const v = await verifyPipeline(pipeline, { limit: ROUND_KEYS, ignoreMissing: true }, { keysOnly: true, openDuckDb: opts.openDuckDb, shouldStop });
      if (v.error || !v.verdict) {
        record.error = clean(v.error ?? 'could not compare');
        record.errorKind = v.failure?.kind ?? 'internal';
        record.errorCode = v.failure?.code ?? 'INTERNAL';
        break;
      }
      const d = v.verdict;
      if (round === 0) {
        record.sourceKeys = d.sourceRows;
        record.targetKeys = d.targetRows;
      }
      record.rowsRead += d.stats.rowsHashed + d.stats.rowsFetched;
      record.sourceRowsHashed = (record.sourceRowsHashed ?? 0) + d.stats.sourceRowsHashed;
      record.sourceRowsFetched = (record.sourceRowsFetched ?? 0) + d.stats.sourceRowsFetched;
      // A round cut short found only some keys: none of them is applied (the rounds before it were, each whole).
      if (d.stopped || shouldStop()) {
        record.stopped = true;
        break;
      }
      const gone = d.differences.filter((x) => x.kind === 'extra').map((x) => x.tuple);
      if (gone.length === 0) break;
      let repaired;
      try {
        repaired = await repairRows(pipeline, gone, { store, parquetDir: pipeline.parquetDir, openDuckDb: opts.openDuckDb, markedAt, shouldStop });
      } catch (err) {
        if (!(err instanceof RepairStoppedError)) throw err;
        record.stopped = true;
        break;
      }
      record.gone += gone.length;
      record.removed += repaired.removed;
      record.marked += repaired.marked;
      // Only a round cut short by the limit can have left keys behind.
      if (!d.truncated) break;
      // The last round allowed found a full round's keys: more may be gone. Said as a stop (the rest is
      // left to the next reconcile), never as a reconcile that found everything.
      if (round === MAX_ROUNDS - 1) record.stopped = true;
    }
  } catch (err) {
    const error = classifyFailure(err);
    record.error = clean(error.message);
    record.errorKind = error.kind;
    record.errorCode = error.code;
  }
  record.durationMs = Date.now() - started;
  try {
    store.recordReconcile(record.pipeline, record);
    // The rows `status` shows: the whole target as counted in the first round, less the keys removed.
    // (Marked rows stay in the table.)
    if (!record.error && record.removed > 0) store.recordTargetRows(record.pipeline, record.targetKeys - record.removed);
  } catch (err) {
    // The state store failed (locked, full disk): the reconcile's outcome stands; say so in the record.
    const error = classifyFailure(err);
    record.error ??= `the outcome could not be recorded in the state store: ${clean(error.message)}`;
    record.errorKind ??= error.kind;
    record.errorCode ??= error.code;
  }
  return record;
}

/** One line per pipeline, as `pgduck reconcile` and `run --once --reconcile` print it. */
export function formatReconcile(r: ReconcileRecord): string {
  if (r.error) return `✗ ${r.pipeline}: not reconciled: ${r.errorKind ? `[${r.errorKind} ${r.errorCode}] ` : ''}${r.error}\n`;
  const what = r.gone === 0 ? 'nothing gone from the source' : `${r.gone} key${r.gone === 1 ? '' : 's'} gone from the source: ${goneOutcome(r)}`;
  const counts = `(source ${r.sourceKeys} keys, target ${r.targetKeys}; ${r.rowsRead} key rows read, ${r.durationMs} ms)`;
  if (r.stopped)
    return `- ${r.pipeline}: reconcile stopped before it finished: ${r.gone === 0 ? 'nothing applied' : `${what} before the stop`}; the rest is left to the next reconcile ${counts}\n`;
  return `✓ ${r.pipeline}: ${what} ${counts}\n`;
}
