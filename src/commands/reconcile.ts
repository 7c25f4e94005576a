/**
 * `pgduck reconcile [name…] [--json]`: find the rows a cursor cannot see go away (hard `DELETE`,
 * `TRUNCATE`) and remove them from DuckDB, with plain SQL, no CDC.
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
 * The outcome is recorded in the state store for `pgduck status`. The checkpoint never moves.
 * Exit codes: 0 done (also when it removed rows), 1 a pipeline could not be reconciled, 2 usage,
 * 3 invalid configuration.
 */
import { selectLivePipelines } from '../config/select-pipelines.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { verifyPipeline } from '../repair/verify-pipeline.js';
import { repairRows } from '../repair/repair-rows.js';
import { CheckpointStore, type ReconcileRecord } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';

/** Keys gone per round (verify's limit); a round that finds as many goes on with another. */
const ROUND_KEYS = 50_000;
const MAX_ROUNDS = 20;

export async function reconcilePipeline(pipeline: ResolvedPipeline, settings: Settings, store: CheckpointStore): Promise<ReconcileRecord> {
  const started = Date.now();
  const record: ReconcileRecord = {
    pipeline: pipeline.spec.name,
    at: new Date().toISOString(),
    durationMs: 0,
    sourceKeys: 0,
    targetKeys: 0,
    gone: 0,
    removed: 0,
    rowsRead: 0,
    error: null,
  };
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const v = await verifyPipeline(pipeline, { limit: ROUND_KEYS }, { keysOnly: true });
      if (v.error || !v.verdict) {
        record.error = v.error ?? 'could not compare';
        break;
      }
      const d = v.verdict;
      if (round === 0) {
        record.sourceKeys = d.sourceRows;
        record.targetKeys = d.targetRows;
      }
      record.rowsRead += d.stats.rowsHashed + d.stats.rowsFetched;
      const gone = d.differences.filter((x) => x.kind === 'extra').map((x) => x.tuple);
      if (gone.length === 0) break;
      record.gone += gone.length;
      const repaired = await repairRows(pipeline, gone, { store, parquetDir: settings.parquetDir });
      record.removed += repaired.removed;
      // Only a round cut short by the limit can have left keys behind.
      if (!d.truncated) break;
    }
  } catch (err) {
    record.error = (err as Error).message;
  }
  record.durationMs = Date.now() - started;
  store.recordReconcile(record.pipeline, record);
  return record;
}

export function formatReconcile(r: ReconcileRecord): string {
  if (r.error) return `✗ ${r.pipeline}: not reconciled: ${r.error}\n`;
  const what =
    r.gone === 0
      ? 'nothing gone from the source'
      : `${r.gone} key${r.gone === 1 ? '' : 's'} gone from the source: ${r.removed} removed` +
        (r.gone > r.removed ? `, ${r.gone - r.removed} back in the source and written` : '');
  return `✓ ${r.pipeline}: ${what} (source ${r.sourceKeys} keys, target ${r.targetKeys}; ${r.rowsRead} key rows read, ${r.durationMs} ms)\n`;
}

export async function reconcileCommand(settings: Settings, names: string[], opts: { json: boolean }): Promise<number> {
  const pipelines = selectLivePipelines(settings, names, process.stderr);
  if ('refused' in pipelines) return KIND_OUTCOMES[pipelines.refused].exitCode;
  const store = new CheckpointStore(checkpointDbPath(settings));
  const results: ReconcileRecord[] = [];
  try {
    for (const pipeline of pipelines) {
      const r = await reconcilePipeline(pipeline, settings, store);
      results.push(r);
      if (!opts.json) process.stdout.write(formatReconcile(r));
    }
  } finally {
    store.close();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ pipelines: results }, null, 2)}\n`);
  return results.some((r) => r.error) ? KIND_OUTCOMES.internal.exitCode : 0;
}
