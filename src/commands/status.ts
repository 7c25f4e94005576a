/** `pgduck status`: one line per pipeline from the checkpoint store. */
import { existsSync } from 'node:fs';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import { renderTable } from '../report/render-table.js';

export function statusCommand(settings: Settings, opts: { json: boolean }): number {
  const path = checkpointDbPath(settings);
  if (!existsSync(path)) {
    process.stdout.write(`no state yet (${path} does not exist): run \`pgduck run --once\` first\n`);
    return 0;
  }
  const store = new CheckpointStore(path);
  try {
    const checkpoints = store.all();
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
          status: c.lastStatus,
          error: c.lastError,
        })),
      ),
    );
    if (events.length > 0) process.stdout.write(`\nschema events:\n${events.map((e) => `  ${e.at} ${e.pipeline} ${e.kind}: ${e.detail}`).join('\n')}\n`);
    const pending = backfills.filter((b) => b.finishedAt === null);
    if (pending.length > 0) {
      process.stdout.write(
        `\nbackfills in progress (resumed by the next run):\n${pending
          .map((b) => `  ${b.pipeline} #${b.id} ${b.columns.map((c) => c.name).join(', ')}: ${b.rowsDone} rows done${b.position ? `, up to key ${b.position.join(', ')}` : ''}`)
          .join('\n')}\n`,
      );
    }
    return 0;
  } finally {
    store.close();
  }
}
