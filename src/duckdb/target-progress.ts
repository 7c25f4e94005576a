/**
 * How far a DuckDB file got, recorded in the file itself: per target table, the number of the last
 * batch a run committed into it, written by that very commit (`main._pgduck_progress`). The state
 * store records the same number after the commit (checkpoints.target_batches). A file whose number is
 * lower, or that has none while the state store has one, is older than the checkpoint: put back from
 * a copy, or another file. Continuing from the checkpoint would never load what the copy lacks (found
 * by review: a restored warehouse missed a day of rows for good, every run ok), so the run starts
 * over as a bootstrap into the table (src/stages/target-lost.ts; docs/architecture.md, rule 5).
 *
 * A replay records the newest file it applied (a table rebuilt from the whole history is as far as
 * the checkpoint; one rebuilt up to an older file is not, and the next run bootstraps it again).
 * Repairs do not write it: what they changed and a copy lost, the next reconcile finds again.
 */
import { quoteLiteral } from '../sql/identifier.js';
import { PROGRESS_TABLE } from '../sql/reserved-names.js';
import type { LakeSession, LakeTransaction } from './lake.js';
import type { TargetName } from './target-table.js';

/** The row's key: the target as DuckDB compares names (without case). */
export function progressKey(target: TargetName): string {
  return JSON.stringify({ schema: target.schema.toLowerCase(), table: target.table.toLowerCase() });
}

function ref(session: Pick<LakeSession, 'catalog'>): string {
  return `${session.catalog}.main."${PROGRESS_TABLE}"`;
}

/** The number recorded for the target, or null when the file records none (no such table or row). */
export async function readProgress(session: LakeSession, target: TargetName): Promise<number | null> {
  // On the session's own connection, outside any transaction: a failed statement there aborts nothing.
  let rows: Awaited<ReturnType<LakeSession['all']>>;
  try {
    rows = await session.all(`SELECT batches FROM ${ref(session)} WHERE target = ${quoteLiteral(progressKey(target))}`);
  } catch (err) {
    if (/Table with name .* does not exist/.test((err as Error).message)) return null;
    throw err;
  }
  return rows.length === 0 ? null : Number(rows[0].batches);
}

/** Made once per opening of the file (LakeSession.runOnce), before the first transaction that records progress opens (row-group.ts). */
export function createProgressTableSql(catalog: string): string {
  return `CREATE TABLE IF NOT EXISTS ${ref({ catalog })} (target VARCHAR PRIMARY KEY, batches BIGINT NOT NULL)`;
}

/** Inside the transaction that commits batches up to `seq` (or after a replay that rebuilt the table through it). */
export async function writeProgress(tx: Pick<LakeTransaction, 'catalog' | 'run'>, target: TargetName, seq: number): Promise<void> {
  await tx.run(`INSERT OR REPLACE INTO ${ref(tx)} VALUES (${quoteLiteral(progressKey(target))}, ${Math.trunc(seq)})`);
}
