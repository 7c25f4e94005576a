/**
 * `pgduck replay <pipeline> [--from <seq>] [--to <seq>] [--drop-target] [--dry-run]`: apply the
 * pipeline's Parquet history (parquet/<pipeline>/) to its DuckDB table again. Needs no Postgres and
 * never touches the checkpoint: every column mapping comes from the files themselves (or, for files
 * older than their metadata, from the state store's snapshot). What it applies, how and why:
 * src/replay/replay-plan.ts.
 *
 * Exit codes derive from the failure's kind (src/errors/exit-codes.ts): 0 replayed (or planned,
 * --dry-run), 75 the DuckDB file is locked (try again), 4 nothing to replay or a history that cannot
 * be replayed, 1 an unforeseen failure, 2 usage (an unknown pipeline), 3 invalid configuration.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Lake, withDuckDbFile, type LakeSession } from '../duckdb/lake.js';
import { describeTarget, targetPrimaryKey, targetRef } from '../duckdb/target-table.js';
import { describeLockHolder, parseLockConflict } from '../duckdb/lock-conflict.js';
import { listHistory } from '../parquet/history-files.js';
import { basename } from 'node:path';
import { describeHistoryFiles } from '../replay/read-history.js';
import { planReplay, resolveFileColumns, ReplayRefused, type ReplayOptions, type ReplayPlan } from '../replay/replay-plan.js';
import { newestPassDone } from '../replay/complete-passes.js';
import { ReplayIncomplete, runReplay } from '../replay/run-replay.js';
import { CheckpointStore, type SourceColumnRecord } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { selectPipelines } from '../config/select-pipelines.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { classifyFailure } from '../runner/classify-failure.js';
import { HistoryBusyError, lockHistory } from '../history/history-lock.js';
import type { HeldLock } from '../state/lock-file.js';

export interface ReplayCommandOptions extends ReplayOptions {
  dryRun: boolean;
  /** --duckdb given on the command line: wins over the pipeline file's target.duckdb_path (replay into another file). */
  duckdbPath?: string;
}

export async function replayCommand(settings: Settings, name: string, opts: ReplayCommandOptions): Promise<number> {
  const selected = selectPipelines(settings, [name], process.stderr);
  if ('refused' in selected) return KIND_OUTCOMES[selected.refused].exitCode;
  const { spec } = selected[0];
  // --duckdb given to replay wins over the file's target.duckdb_path (replay into another file).
  const duckdbPath = opts.duckdbPath ?? selected[0].duckdbPath;
  // `history prune` must not delete the files while they are listed and read (src/history/history-lock.ts).
  let locks: HeldLock[];
  try {
    locks = lockHistory([settings.parquetDir], `pgduck replay ${spec.name}`);
  } catch (err) {
    if (!(err instanceof HistoryBusyError)) throw err;
    process.stderr.write(`✗ ${spec.name}: ${err.message}\n`);
    return KIND_OUTCOMES[err.kind].exitCode;
  }
  for (const lock of locks) if (lock.tookOverFrom) process.stderr.write(`note: took over a stale lock ${lock.path} (pid ${lock.tookOverFrom.pid} is gone)\n`);
  try {
    return await replayLocked(settings, spec, duckdbPath, opts);
  } finally {
    for (const lock of locks) lock.release();
  }
}

async function replayLocked(settings: Settings, spec: PipelineSpec, duckdbPath: string, opts: ReplayCommandOptions): Promise<number> {
  const history = listHistory(settings.parquetDir, spec.name);
  if (history.files.length === 0) {
    process.stderr.write(
      `no Parquet history for ${spec.name}: ${history.dir} ${existsSync(history.dir) ? 'holds no batch files' : 'does not exist'} ` +
        `(has the pipeline run? is --parquet-dir / PARQUET_DIR the one it wrote to?); nothing was replayed\n`,
    );
    return KIND_OUTCOMES['needs-action'].exitCode;
  }

  // Batch files numbered past the state store's count were written by a run that never committed them (it
  // crashed or failed inside its row group): the next run rewrites the numbers it reaches, but one that needed
  // fewer batches leaves the rest, rows DuckDB never held (found by review). Not replayed; a history without
  // its state store is replayed whole.
  const counted = countedBatches(settings, spec.name);
  const unfinished = counted === null ? [] : history.files.filter((f) => f.kind === 'batch' && f.seq > counted);
  const files = history.files.filter((f) => !unfinished.includes(f));
  if (unfinished.length > 0) {
    process.stdout.write(
      `note: ${unfinished.length} batch file${unfinished.length === 1 ? '' : 's'} numbered past the ${counted} batches the checkpoint counts ` +
        `(${unfinished.map((f) => basename(f.path)).join(', ')}) ${unfinished.length === 1 ? 'was' : 'were'} written by a run that never committed ` +
        `${unfinished.length === 1 ? 'it' : 'them'}: not replayed\n`,
    );
  }
  const started = Date.now();
  const work = async (session: LakeSession | null, memory: LakeSession): Promise<number> => {
    const plan = await makePlan(settings, spec, files, session, memory, opts);
    process.stdout.write(describePlan(plan, settings.parquetDir, duckdbPath, opts.dryRun));
    if (opts.dryRun) {
      process.stdout.write('dry run: nothing was written\n');
      return 0;
    }
    const tty = process.stderr.isTTY;
    const outcome = await runReplay(session!, spec, plan, tty ? (done, total) => process.stderr.write(`\r  ${done}/${total} files`) : undefined).catch(
      (err: Error) => {
        if (err instanceof ReplayIncomplete) throw err;
        const left = plan.buildAs
          ? `${plan.label} was left as it was (the half-built ${plan.buildAs} is dropped by the next replay)`
          : `${plan.label} was left as it was (the files are applied in one transaction)${plan.add.length > 0 ? `, apart from the columns added to it` : ''}`;
        throw new Error(`${err.message}; ${left}`, { cause: err });
      },
    );
    if (tty) process.stderr.write('\r\x1b[K');
    const updated =
      (outcome.backfills > 0 ? `, ${outcome.rowsUpdated} updated by ${outcome.backfills} backfill batch${outcome.backfills === 1 ? '' : 'es'}` : '') +
      (outcome.deletes > 0
        ? `, ${outcome.rowsRemoved} removed${outcome.rowsMarked > 0 ? ` and ${outcome.rowsMarked} marked` : ''} by ${outcome.deletes} deletes file${outcome.deletes === 1 ? '' : 's'}`
        : '');
    process.stdout.write(
      `✓ ${spec.name}: ${outcome.files} file${outcome.files === 1 ? '' : 's'} replayed (${outcome.rowsWritten} rows written${updated}) in ${Date.now() - started} ms; ` +
        `${plan.buildAs ? `${plan.label} rebuilt` : `${plan.label} updated in place`}; Postgres and the checkpoint untouched\n`,
    );
    return 0;
  };

  try {
    if (opts.dryRun && !existsSync(duckdbPath)) return await withDuckDbFile(':memory:', (memory) => work(null, memory));
    if (opts.dryRun) return await withDuckDbFile(duckdbPath, (session) => work(session, session), { readOnly: true });
    // Attached, as the runner holds it: its lock is the one the runner (and DuckDB clients) meet.
    const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
    try {
      return await lake.withSession(duckdbPath, (session) => work(session, session));
    } finally {
      await lake.close();
    }
  } catch (err) {
    process.stderr.write(`✗ ${spec.name}: ${explainReplayFailure(err, duckdbPath)}\n`);
    const failure = classifyFailure(err);
    if (failure.fix) process.stderr.write(`  fix: ${failure.fix}\n`);
    return KIND_OUTCOMES[failure.kind].exitCode;
  }
}

async function makePlan(
  settings: Settings,
  spec: PipelineSpec,
  files: ReturnType<typeof listHistory>['files'],
  session: LakeSession | null,
  memory: LakeSession,
  opts: ReplayOptions,
): Promise<ReplayPlan> {
  const described = await describeHistoryFiles(memory, files);
  const snapshot = described.some((f) => !f.meta) ? readSnapshot(settings, spec.name) : [];
  const mapped = described.map((f) => ({ ...f, columns: resolveFileColumns(f, snapshot) }));
  let target = null;
  if (session) {
    const columns = await describeTarget(session, spec.target);
    if (columns) {
      const rows = await session.all(`SELECT count(*)::BIGINT AS n FROM ${targetRef(session, spec.target)}`);
      target = { columns, primaryKey: (await targetPrimaryKey(session, spec.target))?.columns ?? null, rows: Number(rows[0].n) };
    }
  }
  const types = [...new Set([...mapped.flatMap((f) => f.columns.map((c) => c.mapping.duckType)), ...(target?.columns.map((c) => c.type) ?? [])])];
  const canonical = new Map<string, string>();
  if (types.length > 0) {
    const row = (await memory.all(`SELECT ${types.map((t, i) => `typeof(CAST(NULL AS ${t})) AS c${i}`).join(', ')}`))[0];
    types.forEach((t, i) => canonical.set(t, String(row[`c${i}`])));
  }
  const canon = (t: string) => canonical.get(t) ?? t;
  if (target) target.columns = target.columns.map((c) => ({ name: c.name, type: canon(c.type) }));
  const newestDone = readStateStore(settings, false, (store) => newestPassDone(store.get(spec.name)));
  return planReplay({ spec, files: mapped, target, options: opts, canonical: canon, newestPassDone: newestDone });
}

/** Read the state store, if there is one (replay needs none: a history copied elsewhere replays too); `absent` without it. */
function readStateStore<T>(settings: Settings, absent: T, read: (store: CheckpointStore) => T): T {
  const path = checkpointDbPath(settings);
  if (!existsSync(path)) return absent;
  const store = new CheckpointStore(path);
  try {
    return read(store);
  } finally {
    store.close();
  }
}

/** The batches the state store counts for this pipeline (committed ones); null without a state store or a checkpoint. */
function countedBatches(settings: Settings, pipeline: string): number | null {
  return readStateStore(settings, null, (store) => store.get(pipeline)?.batchesTotal ?? null);
}

/** The state store's snapshot of the source columns: only for history files older than their metadata. */
function readSnapshot(settings: Settings, pipeline: string): SourceColumnRecord[] {
  return readStateStore(settings, [], (store) => store.sourceColumns(pipeline));
}

function describePlan(plan: ReplayPlan, parquetDir: string, duckdbPath: string, full: boolean): string {
  const batches = plan.files.filter((f) => f.file.kind === 'batch').length;
  const deletes = plan.files.filter((f) => f.file.kind === 'deletes').length;
  const backfills = plan.files.length - batches - deletes;
  const rows = plan.files.reduce((n, f) => n + (f.file.kind === 'deletes' ? 0 : f.file.rows), 0);
  const lines = [
    `replay ${plan.pipeline}: ${plan.files.length} file${plan.files.length === 1 ? '' : 's'} (${batches} batch${batches === 1 ? '' : 'es'}` +
      `${backfills > 0 ? `, ${backfills} backfill batch${backfills === 1 ? '' : 'es'}` : ''}` +
      `${deletes > 0 ? `, ${deletes} deletes file${deletes === 1 ? '' : 's'}` : ''}; ${rows} row${rows === 1 ? '' : 's'}), seq ${plan.range.from}…${plan.range.to} ` +
      `of ${plan.range.first}…${plan.range.last}, from ${join(parquetDir, plan.pipeline)} into ${duckdbPath} table ${plan.label}`,
    `  mode ${plan.mode}: ${plan.why}`,
  ];
  if (plan.buildAs) {
    lines.push(
      `  ${plan.label} is built as ${plan.buildAs}, then swapped in${plan.dropTarget ? ' (replacing the table: --drop-target)' : ''}: ` +
        plan.create!.map((c) => `${c.name} ${c.type}`).join(', '),
    );
  }
  if (plan.add.length > 0) lines.push(`  columns added to ${plan.label}: ${plan.add.map((c) => `${c.name} ${c.type}`).join(', ')}`);
  for (const n of plan.notes) lines.push(`  note: ${n}`);
  if (full) {
    lines.push('  files, in the order they are applied:');
    for (const f of plan.files) {
      const at = relative(join(parquetDir, plan.pipeline), f.file.path);
      const gone = f.file.meta?.deletes;
      const what =
        f.file.kind === 'batch'
          ? `batch, ${f.file.rows} rows${f.file.meta?.from === null ? ', read from the beginning' : ''}`
          : f.file.kind === 'deletes'
            ? `deletes, ${f.file.rows} key${f.file.rows === 1 ? '' : 's'} gone from the source${gone?.mode === 'mark' ? `: marked at ${gone.at}` : ': removed'}`
            : `backfill #${f.file.backfillId}, ${f.file.rows} rows: ${f.columns.map((c) => c.target).join(', ')}`;
      const renamed = f.columns.filter((c) => c.parquetName !== c.target).map((c) => `${c.parquetName} → ${c.target}`);
      const skipped = f.notLoaded.map((n) => `${n.parquetName} not loaded (${n.reason})`);
      const via = f.file.meta ? '' : '; columns mapped from the state store (file predates column metadata)';
      lines.push(`    ${at}  ${what}${renamed.length ? `; ${renamed.join(', ')}` : ''}${skipped.length ? `; ${skipped.join('; ')}` : ''}${via}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function explainReplayFailure(err: unknown, duckdbPath: string): string {
  const chain: unknown[] = [];
  for (let e = err; e && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  for (const e of chain) {
    const lock = parseLockConflict((e as Error)?.message ?? String(e));
    if (lock) {
      return (
        `the DuckDB file ${lock.file ?? resolve(duckdbPath)} is locked by ${describeLockHolder(lock)}: a running \`pgduck run\` (or a DuckDB CLI, a notebook) has it open. ` +
        'Stop it, then replay again (replay and the runner must not write one file at once); nothing was replayed'
      );
    }
  }
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof ReplayRefused) return `${message}; nothing was replayed`;
  return `${message}; the checkpoint and Postgres were not touched`;
}
