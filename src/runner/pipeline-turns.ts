/**
 * One turn per pipeline in the service: a pipeline's sync and its reconcile never run at the same
 * time. Whoever comes second waits for the turn (first come, first served). At most one of each kind
 * is waiting or holding a pipeline's turn: a second request of a kind already there is dropped, not
 * queued (a reconcile tick while a reconcile waits or runs adds nothing; the scheduler already never
 * fires a sync twice).
 *
 * Take the turn before a slot of the p-limit pool, never inside one: a task waiting for its turn
 * must not hold a slot another pipeline could use.
 */
export type TurnKind = 'sync' | 'reconcile';

export type TurnResult<T> = { ran: true; value: T } | { ran: false };

export interface PipelineTurns {
  /**
   * Run fn when the pipeline's turn is free. Resolves `{ ran: false }` at once when a `kind` of this
   * pipeline is already waiting or running; otherwise fn's result (or its rejection) when it ends.
   */
  take<T>(pipeline: string, kind: TurnKind, fn: () => Promise<T>): Promise<TurnResult<T>>;
  /** What holds the pipeline's turn now, and what waits for it (for logs and tests). */
  state(pipeline: string): { holder: TurnKind | null; waiting: TurnKind[] };
}

export function createPipelineTurns(): PipelineTurns {
  /** Per pipeline: the end of its queue (settles when the last task taken has ended). */
  const tails = new Map<string, Promise<void>>();
  /** Per pipeline: the kinds queued or running, in order; the first one holds the turn. */
  const queues = new Map<string, TurnKind[]>();

  return {
    take<T>(pipeline: string, kind: TurnKind, fn: () => Promise<T>): Promise<TurnResult<T>> {
      const queue = queues.get(pipeline) ?? [];
      if (queue.includes(kind)) return Promise.resolve({ ran: false });
      queue.push(kind);
      queues.set(pipeline, queue);
      const previous = tails.get(pipeline) ?? Promise.resolve();
      const mine = previous.then(fn).finally(() => {
        const q = queues.get(pipeline);
        q?.splice(q.indexOf(kind), 1);
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
      return { holder: q[0] ?? null, waiting: q.slice(1) };
    },
  };
}
