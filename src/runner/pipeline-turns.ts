/**
 * One turn per target table in the service (the scheduler keys turns by the table a pipeline writes):
 * a pipeline's sync and its reconcile never run at the same time, nor do two pipelines writing one
 * table, which a reload can make (a file renamed while its run is in flight: the new name's bootstrap
 * and the old name's run both wrote it, and a keyless target held every key twice; found by review).
 * Whoever comes second waits for the turn (first come, first served). At most one of each kind per
 * owner (the pipeline asking) is waiting or holding a turn: a second request of a kind already there
 * is dropped, not queued (a reconcile tick while a reconcile waits or runs adds nothing; the scheduler
 * already never fires a sync twice).
 *
 * Take the turn before a slot of the p-limit pool, never inside one: a task waiting for its turn
 * must not hold a slot another pipeline could use.
 */
export type TurnKind = 'sync' | 'reconcile';

export type TurnResult<T> = { ran: true; value: T } | { ran: false };

export interface PipelineTurns {
  /**
   * Run fn when the turn `key` is free. Resolves `{ ran: false }` at once when a `kind` of this owner
   * (default: the key) is already waiting or running there; otherwise fn's result (or its rejection) when it ends.
   */
  take<T>(key: string, kind: TurnKind, fn: () => Promise<T>, owner?: string): Promise<TurnResult<T>>;
  /** What holds the pipeline's turn now, and what waits for it (for logs and tests). */
  state(pipeline: string): { holder: TurnKind | null; waiting: TurnKind[] };
}

export function createPipelineTurns(): PipelineTurns {
  /** Per pipeline: the end of its queue (settles when the last task taken has ended). */
  const tails = new Map<string, Promise<void>>();
  /** Per key: the tasks queued or running, in order; the first one holds the turn. */
  const queues = new Map<string, { kind: TurnKind; owner: string }[]>();

  return {
    take<T>(pipeline: string, kind: TurnKind, fn: () => Promise<T>, owner: string = pipeline): Promise<TurnResult<T>> {
      const queue = queues.get(pipeline) ?? [];
      if (queue.some((t) => t.kind === kind && t.owner === owner)) return Promise.resolve({ ran: false });
      const task = { kind, owner };
      queue.push(task);
      queues.set(pipeline, queue);
      const previous = tails.get(pipeline) ?? Promise.resolve();
      const mine = previous.then(fn).finally(() => {
        const q = queues.get(pipeline);
        q?.splice(q.indexOf(task), 1);
        if (q && q.length === 0) queues.delete(pipeline);
      });
      const tail = mine.then(
        () => {},
        () => {},
      );
      tails.set(pipeline, tail);
      void tail.then(() => {
        if (tails.get(pipeline) === tail) tails.delete(pipeline);
      });
      return mine.then((value) => ({ ran: true, value }));
    },
    state(pipeline) {
      const q = queues.get(pipeline) ?? [];
      return { holder: q[0]?.kind ?? null, waiting: q.slice(1).map((t) => t.kind) };
    },
  };
}
