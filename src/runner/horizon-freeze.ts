/**
 * Horizon freeze: once a batch of this run held a row above the commit-safe horizon, no later batch
 * of the run may checkpoint. A transaction committing now could still add rows between the two
 * batches (its rows carry a cursor below the later batch's), and a checkpoint past them would lose
 * them. The later batches are still loaded; the next run reads them again from the last safe position.
 */
import type { BatchState } from '../stages/stage.js';

export class HorizonFreeze {
  private frozen = false;

  /** Called with each batch of the run as it is read, in order, before its steps run. */
  apply(batch: BatchState): void {
    if (this.frozen) batch.safe = null;
    if (!batch.allSafe) this.frozen = true;
  }
}
