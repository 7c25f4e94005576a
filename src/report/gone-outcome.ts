/**
 * What a reconcile did with the rows it found gone from the source, in the words `pgduck reconcile`,
 * `pgduck status` and the service's log line share: removed (hard_delete_mode remove) or marked
 * (hard_delete_mode mark), and how many were back in the source by then.
 */
import type { ReconcileRecord } from '../state/checkpoint-store.js';

/** `39 removed`, or under hard_delete_mode mark `39 marked`, and how many were back in the source. */
export function goneOutcome(r: Pick<ReconcileRecord, 'gone' | 'removed' | 'marked' | 'mode'>): string {
  const applied = r.mode === 'mark' ? `${r.marked} marked` : `${r.removed} removed`;
  // Under mark, a row tombstoned under soft_delete_mode remove is still removed (the soft delete's own rule).
  const removedToo = r.mode === 'mark' && r.removed > 0 ? `, ${r.removed} removed (soft_delete_mode remove)` : '';
  const back = r.gone - r.removed - r.marked;
  return `${applied}${removedToo}${back > 0 ? `, ${back} back in the source and written` : ''}`;
}
