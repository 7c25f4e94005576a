/**
 * `pgduck status`: one line per pipeline from the checkpoint store. A failed run shows its kind
 * (transient: will heal by itself; needs action; config…) and its stable code, read back from the
 * recorded error (src/errors/recorded-failure.ts).
 */
import { existsSync } from 'node:fs';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import { renderTable } from '../report/render-table.js';
import { decodeFailure } from '../errors/recorded-failure.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';

export function statusCommand(settings: Settings, opts: { json: boolean }): number {
  const path = checkpointDbPath(settings);
  if (!existsSync(path)) {
    process.stdout.write(`no state yet (${path} does not exist): run \`pgduck run --once\` first\n`);
    return 0;
  }
  const store = new CheckpointStore(path);
  try {
    const checkpoints = store.all().map((c) => {
      const failure = c.lastError === null ? null : decodeFailure(c.lastError);
      return { ...c, lastError: failure?.message ?? null, lastErrorKind: failure?.kind ?? null, lastErrorCode: failure?.code ?? null };
    });
    const events = store.schemaEvents();
    const backfills = store.backfills();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ checkpoints, schemaEvents: events, backfills }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      renderTable(
        checkpoints.map((c) => ({
          pipeline: c.pipeline,
          bootstrap: c.bootstrapDone ? 'done' : 'in progress',
          cursor: c.position?.cursor ?? null,
          key: c.position ? c.position.key.join(', ') : null,
          rows: c.rowsTotal,
          batches: c.batchesTotal,
          last_run: c.lastRunAt,
          status: c.lastStatus === 'failed' && c.lastErrorKind ? KIND_OUTCOMES[c.lastErrorKind].status : c.lastStatus,
          code: c.lastErrorCode,
          error: c.lastError,
        })),
      ),
    );
    if (events.length > 0) process.stdout.write(`\nschema events:\n${events.map((e) => `  ${e.at} ${e.pipeline} ${e.kind}: ${e.detail}`).join('\n')}\n`);
    const pending = backfills.filter((b) => b.finishedAt === null);
    if (pending.length > 0) {
      process.stdout.write(
        `\nbackfills in progress (resumed by the next run):\n${pending
          .map(
            (b) =>
              `  ${b.pipeline} #${b.id} ${b.columns.map((c) => c.name).join(', ')}: ${b.rowsDone} rows done${b.position ? `, up to key ${b.position.join(', ')}` : ''}`,
          )
          .join('\n')}\n`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}
