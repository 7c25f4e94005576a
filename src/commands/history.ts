/**
 * `pgduck history [size] [name…] [--json]` and `pgduck history prune [name…] [--dry-run] [--keep k] [--json]`:
 * how much Parquet history each pipeline holds, and deleting what its `history.keep` no longer asks
 * for (README "History retention"). The history is the user's data: nothing else in pgduck deletes a
 * file of it (`run` never does), and prune deletes only files a replay no longer reads
 * (src/history/plan-prune.ts), crash-safely (src/history/prune-history.ts).
 *
 * Exit codes (src/errors/exit-codes.ts): 0 done (also when there was nothing to delete, or no safe
 * cut: the reason is printed), 2 usage (an unknown pipeline, a bad --keep), 3 invalid configuration,
 * 4 a history that cannot be read or a file that cannot be deleted (the kind of the failure), 1 an
 * unforeseen failure. One pipeline's failure does not stop the others.
 */
import { targetLabel } from '../duckdb/target-table.js';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { withDuckDbFile } from '../duckdb/lake.js';
import { selectPipelines } from '../config/select-pipelines.js';
import { loadPipelines } from '../config/load-pipelines.js';
import { exitCodeFor, KIND_OUTCOMES } from '../errors/exit-codes.js';
import type { ErrorKind } from '../errors/pgduck-error.js';
import { classifyFailure } from '../runner/classify-failure.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { describeKeep, KEEP_ALL, keepSpelling, type KeepPolicy } from '../history/keep-policy.js';
import { describeSize, formatBytes, historySize } from '../history/history-size.js';
import { planPrune, type PrunePlan } from '../history/plan-prune.js';
import { deletePlanned, readPruneFiles } from '../history/prune-history.js';
import { HistoryBusyError, lockHistory } from '../history/history-lock.js';
import type { HeldLock } from '../state/lock-file.js';
import { newestPassDone } from '../replay/complete-passes.js';

const PIPELINE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** Files listed per pipeline in text; --json lists every one. */
const LISTED = 50;

/** `pgduck history [size]`: per pipeline, its history's files and bytes. Needs no valid configuration: it reads parquet/ only. */
export function historySizeCommand(settings: Settings, names: string[], opts: { json: boolean }): number {
  const bad = names.filter((n) => !PIPELINE_NAME.test(n));
  if (bad.length > 0) {
    process.stderr.write(`not a pipeline name: ${bad.map((n) => JSON.stringify(n)).join(', ')}\n`);
    return KIND_OUTCOMES.usage.exitCode;
  }
  const chosen = names.length > 0 ? names : knownPipelines(settings);
  const sizes = chosen.map((pipeline) => ({ pipeline, ...historySize(settings.parquetDir, pipeline) }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ parquetDir: settings.parquetDir, pipelines: sizes }, null, 2)}\n`);
    return 0;
  }
  if (sizes.length === 0) {
    process.stdout.write(`no pipelines and no history in ${settings.parquetDir}\n`);
    return 0;
  }
  const width = Math.max(8, ...sizes.map((s) => s.pipeline.length));
  for (const s of sizes) process.stdout.write(`${s.pipeline.padEnd(width)}  ${describeSize(s)}\n`);
  const files = sizes.reduce((n, s) => n + s.files, 0);
  const bytes = sizes.reduce((n, s) => n + s.bytes, 0);
  process.stdout.write(`${'total'.padEnd(width)}  ${files} file${files === 1 ? '' : 's'}, ${formatBytes(bytes)} in ${settings.parquetDir}\n`);
  return 0;
}

/** The valid pipeline files' names and every folder of the history directory (a pipeline whose file is gone still has history). */
function knownPipelines(settings: Settings): string[] {
  const names = new Set<string>();
  if (existsSync(settings.pipelinesDir)) {
    try {
      for (const s of loadPipelines([settings.pipelinesDir], process.env, settings.duckdbPath).specs) names.add(s.name);
    } catch {
      // sizes need no configuration: the folders below still count
    }
  }
  if (existsSync(settings.parquetDir)) {
    for (const e of readdirSync(settings.parquetDir, { withFileTypes: true })) if (e.isDirectory() && PIPELINE_NAME.test(e.name)) names.add(e.name);
  }
  return [...names].sort();
}

export interface PruneCommandOptions {
  dryRun: boolean;
  json: boolean;
  /** --keep: instead of each file's history.keep. */
  keep?: KeepPolicy;
}

interface PruneOutcome {
  pipeline: string;
  plan: PrunePlan | null;
  deleted: number;
  error: { message: string; kind: ErrorKind } | null;
}

export async function historyPruneCommand(settings: Settings, names: string[], opts: PruneCommandOptions): Promise<number> {
  const selected = selectPipelines(settings, names.length > 0 ? names : undefined, process.stderr);
  if ('refused' in selected) return KIND_OUTCOMES[selected.refused].exitCode;
  // A replay may be reading these files: one of the two at a time (src/history/history-lock.ts). A dry run deletes nothing.
  let locks: HeldLock[] = [];
  if (!opts.dryRun) {
    try {
      locks = lockHistory(
        selected.map((p) => p.parquetDir),
        `pgduck history prune${names.length > 0 ? ` ${names.join(' ')}` : ''}`,
      );
    } catch (err) {
      if (!(err instanceof HistoryBusyError)) throw err;
      process.stderr.write(`pgduck: ${err.message}\n`);
      return KIND_OUTCOMES[err.kind].exitCode;
    }
    for (const lock of locks) if (lock.tookOverFrom) process.stderr.write(`note: took over a stale lock ${lock.path} (pid ${lock.tookOverFrom.pid} is gone)\n`);
  }
  const statePath = checkpointDbPath(settings);
  const store = existsSync(statePath) ? new CheckpointStore(statePath) : null;
  const outcomes: PruneOutcome[] = [];
  try {
    await withDuckDbFile(':memory:', async (memory) => {
      for (const p of selected) {
        const { spec } = p;
        const outcome: PruneOutcome = { pipeline: spec.name, plan: null, deleted: 0, error: null };
        outcomes.push(outcome);
        try {
          // Read the checkpoint before the files: a batch checkpointed meanwhile only adds files after the cut.
          const checkpoint = store?.get(spec.name) ?? null;
          const checkpointed = checkpoint?.batchesTotal ?? null;
          const files = await readPruneFiles(memory, p.parquetDir, spec.name);
          const keep = opts.keep ?? spec.history?.keep ?? KEEP_ALL;
          outcome.plan = planPrune({
            pipeline: spec.name,
            table: targetLabel(spec.target),
            files,
            checkpointed,
            newestPassDone: newestPassDone(checkpoint),
            keep,
            now: Date.now(),
          });
          if (!opts.dryRun) outcome.deleted = deletePlanned(outcome.plan);
        } catch (err) {
          const failure = classifyFailure(err);
          outcome.error = { message: (err as Error)?.message ?? String(err), kind: failure.kind };
        }
        if (!opts.json) process.stdout.write(renderOutcome(outcome, p.parquetDir, opts.dryRun));
      }
    });
  } finally {
    store?.close();
    for (const lock of locks) lock.release();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ dryRun: opts.dryRun, pipelines: outcomes.map((o) => toJson(o, opts.dryRun)) }, null, 2)}\n`);
  else if (opts.dryRun) process.stdout.write('dry run: nothing was deleted\n');
  return exitCodeFor(outcomes.flatMap((o) => (o.error ? [o.error.kind] : [])));
}

function renderOutcome(o: PruneOutcome, parquetDir: string, dryRun: boolean): string {
  if (o.error || !o.plan) return `✗ ${o.pipeline}: ${o.error?.message ?? 'not pruned'}; nothing more was deleted\n`;
  const plan = o.plan;
  const dir = join(parquetDir, o.pipeline);
  const lines: string[] = [];
  const head = `${o.pipeline} (history.keep: ${keepSpelling(plan.keep)}, ${describeKeep(plan.keep)})`;
  if (plan.remove.length === 0) lines.push(`${head}: nothing to delete`);
  else {
    const what = `${plan.remove.length} file${plan.remove.length === 1 ? '' : 's'}, ${formatBytes(plan.bytesFreed)}`;
    lines.push(
      dryRun
        ? `${head}: would delete ${what}`
        : `${head}: deleted ${what}${o.deleted < plan.remove.length ? ` (${plan.remove.length - o.deleted} already gone)` : ''}`,
    );
    const shown = plan.remove.slice(0, LISTED);
    for (const f of shown) lines.push(`    ${relative(dir, f.path)}  ${formatBytes(f.bytes)}`);
    if (plan.remove.length > shown.length) lines.push(`    … ${plan.remove.length - shown.length} more (--json lists every file)`);
  }
  lines.push(`  why: ${plan.reason}`);
  const kept = plan.kept;
  lines.push(
    `  kept: ${kept.length === 0 ? 'nothing' : `${kept.length} file${kept.length === 1 ? '' : 's'}, ${formatBytes(plan.bytesKept)} (batches ${kept[0].seq}…${kept[kept.length - 1].seq})`}`,
  );
  lines.push(`  replay: ${plan.guarantee}`);
  return `${lines.join('\n')}\n`;
}

function toJson(o: PruneOutcome, dryRun: boolean) {
  const plan = o.plan;
  return {
    pipeline: o.pipeline,
    keep: plan ? keepSpelling(plan.keep) : null,
    cut: plan?.cut ?? null,
    delete: plan?.remove.map((f) => ({ file: f.path, seq: f.seq, kind: f.kind, bytes: f.bytes })) ?? [],
    deleted: dryRun ? 0 : o.deleted,
    bytesFreed: plan && !dryRun ? plan.bytesFreed : 0,
    bytesToFree: plan?.bytesFreed ?? 0,
    kept: plan
      ? { files: plan.kept.length, bytes: plan.bytesKept, firstSeq: plan.kept[0]?.seq ?? null, lastSeq: plan.kept[plan.kept.length - 1]?.seq ?? null }
      : null,
    passes: plan?.passes ?? [],
    reason: plan?.reason ?? null,
    guarantee: plan?.guarantee ?? null,
    error: o.error,
  };
}
