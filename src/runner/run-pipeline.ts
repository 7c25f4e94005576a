/**
 * Run one compiled pipeline until its source is drained: batch after batch through the plan's steps.
 *
 * Each batch runs `plan.steps` in order, each step being the stage of that name in the one registry
 * (src/stages/registry.ts): what `pgduck plan` prints is what runs. Five runner policies shape the
 * loop: read-ahead (the next batch is read while this one finishes, src/runner/read-ahead.ts) and
 * parquet-ahead (a batch read ahead is turned into its Parquet file at once, on the session's own
 * connection, while this one is applied on the transaction's: its parquet step then only reports
 * the outcome; below, in `extract`),
 * row groups (batches share one DuckDB transaction until it holds GROUP_ROWS rows; their checkpoints
 * wait for its commit), session rotation (the DuckDB session ends every SESSION_ROWS rows) and the
 * horizon freeze (after a batch with rows above the horizon, later batches of the run do not checkpoint).
 *
 * Bootstrap is just the first incremental run from an empty checkpoint (rule 6), so an interrupted
 * bootstrap resumes where it stopped. A failure in any step stops this pipeline only, with a
 * StageError naming that step and saying where the checkpoint was left; nothing else is touched.
 */
import {
  batchBytes,
  newBatch,
  nextStart,
  type BatchStart,
  type BatchState,
  type ProgressSink,
  type ReadContext,
  type Stage,
  type StageContext,
  type StageName,
} from '../stages/stage.js';
import { STAGES } from '../stages/registry.js';
import { newRunMemory } from '../stages/run-memory.js';
import type { Lake } from '../duckdb/lake.js';
import type { CheckpointStore, Position } from '../state/checkpoint-store.js';
import { connectPostgres, endQuietly } from '../postgres/connect.js';
import { openCopyCsvStream } from '../postgres/copy-stream.js';
import { isStreamSource } from '../stages/bootstrap-stream.js';
import { exportSnapshot } from '../postgres/export-snapshot.js';
import type { Plan } from './compile.js';
import { StageError } from './stage-error.js';
import { guardSource } from './source-guard.js';
import { faultPoint, type FaultPoint } from '../faults/fault-point.js';
import { readAhead } from './read-ahead.js';
import { SessionRotation, SESSION_ROWS } from './session-rotation.js';
import { HorizonFreeze } from './horizon-freeze.js';
import { GROUP_ROWS, RowGroup } from './row-group.js';
import { DeferredStepError } from '../stages/batch-transaction.js';
import { dropTarget, targetLabel, targetRef, targetSource } from '../duckdb/target-table.js';
import type { Logger } from '../log/logger.js';
import { estimateRows } from '../postgres/estimate-rows.js';
import { PgduckError } from '../errors/pgduck-error.js';
import { checkpointHasProgress, findTargetLost, recordedFromTable, targetChanged } from '../stages/target-lost.js';
import { targetIdentity } from '../duckdb/target-identity.js';
import { RepairedDuringRunError, findRepairedDuringRun } from './repaired-during-run.js';
import { listHistory, newestDeletesOrBackfillSeq, setAsideUncommittedBatches } from '../parquet/history-files.js';

export { SESSION_ROWS, GROUP_ROWS };

/**
 * The largest batch (bytes of its CSV) turned into Parquet ahead: it holds a second batch in DuckDB,
 * ~2.5-3x its CSV in peak RSS. Measured on 1M rows of the bench table (~140 bytes a row, with the
 * executable's allocator settings): 10,000-row batches 15% faster for ~2 MB; 50,000 (~7 MB of CSV)
 * 14% faster for 17 MB (239 MB peak); 100,000 8% faster for 44 MB (285 MB, over the 250 MB target).
 */
export const PARQUET_AHEAD_MAX_BYTES = 8 * 1024 * 1024;

export interface RunDeps {
  lake: Lake;
  store: CheckpointStore;
  log: Logger;
  /** Checked between batches: a shutdown finishes the batch in flight, then stops cleanly. */
  shouldStop?: () => boolean;
  /** Rows after which a long run ends its DuckDB session and opens a new one (default SESSION_ROWS). */
  sessionRows?: number;
  /** Rows after which the run's shared DuckDB transaction commits (default GROUP_ROWS, one DuckDB row group). */
  groupRows?: number;
  /** The fewest deleted row slots a target is compacted for (src/stages/compact.ts; default GROUP_ROWS). */
  compactMinDeleted?: number;
  /**
   * Told of every step as it starts, with the batch it runs for and the pipeline (tests compare them
   * with plan.steps). The step waits for a returned promise: a test acts there, between two batches
   * or two steps (drops the source table, say). The extract of a batch may start before the
   * previous batch's last steps (read-ahead), so those go on meanwhile.
   */
  onStep?: (stage: StageName, batch: number, pipeline: string) => void | Promise<void>;
  /**
   * Told of every batch applied, once committed and checkpointed (the service's metrics, src/runner/service-metrics.ts):
   * a batch with rows, or one with none whose backfills wrote files (backfillBytes).
   */
  onBatch?: (pipeline: string, batch: Readonly<BatchState>) => void;
  /** Progress bars (src/log/terminal-progress.ts): a bootstrap (no complete pass yet) and each backfill report to it. */
  progress?: ProgressSink;
}

export interface RunSummary {
  pipeline: string;
  batches: number;
  rows: number;
  upserted: number;
  /** Parquet bytes written: the batches' files and their backfills' files. */
  bytes: number;
  durationMs: number;
  position: Position | null;
  bootstrapDone: boolean;
  /** Rows in the target table, counted at the end of a run that changed it (for `pgduck status`); absent when not counted. */
  targetRows?: number;
  /** The source's WAL position when this run began reading (a primary's; source-identity.ts), for the next run to compare. */
  sourceWalLsn?: string;
}

/**
 * Run one pipeline until drained (or stopped). A run that finds its checkpoint's rows are not in the
 * table it writes (the table missing, or another table or file than the checkpoint's: target-lost.ts)
 * resets the checkpoint and runs again, as a bootstrap, once. A run that finds a repair changed its
 * table while it held rows read before it (repaired-during-run.ts) runs again from its checkpoint, once.
 */
export async function runPipeline(plan: Plan, deps: RunDeps): Promise<RunSummary> {
  try {
    return await runPipelineOnce(plan, deps);
  } catch (err) {
    const { spec } = plan;
    const lost = findTargetLost(err);
    if (lost) {
      deps.store.reset(spec.name);
      deps.store.addSchemaEvent(spec.name, 'retargeted', `${lost.what}: checkpoint reset, bootstrapped again into ${targetLabel(spec.target)}`);
      deps.log.warn(
        { pipeline: spec.name },
        `${lost.what}: the rows its checkpoint counts are not in that table, so the checkpoint was reset and the pipeline bootstraps again into ` +
          `${targetLabel(spec.target)} (nothing was deleted; a table the pipeline wrote before stays as it was)`,
      );
    } else if (findRepairedDuringRun(err)) {
      deps.log.info({ pipeline: spec.name }, 'a repair changed the target while this run held rows read before it: read again from the checkpoint');
    } else {
      throw err;
    }
    return await runPipelineOnce(plan, deps);
  }
}

async function runPipelineOnce(plan: Plan, deps: RunDeps): Promise<RunSummary> {
  const started = Date.now();
  const { spec } = plan;
  const { store, log } = deps;
  const steps = stagesOf(plan);
  let checkpoint = store.get(spec.name);
  // No batch may be numbered below a history file already on disk: it would replay before that file. An idle
  // run's backfill takes its batch number when its checkpoint is written (checkpoint.ts); a crash before that
  // left its files numbered past the count, and a later pass would start at that number (found by the review
  // of this change: a rebuild then brought back a row deleted meanwhile). A state store restored from an older
  // copy counts fewer batches than the history holds: a batch numbered below a reconcile's deletes file replayed
  // before it, which removed a row inserted again since (found by review). So when a deletes or backfill file
  // lies past the count, the batch files right after the count are set aside first (a crashed run's, never
  // committed: history-files.ts; their rows are read again from the checkpoint), then every number a history
  // file still holds is taken, before this run counts anything (a gap in the numbers is harmless).
  if (checkpoint && newestDeletesOrBackfillSeq(plan.parquetDir, spec.name) > checkpoint.batchesTotal) {
    const set = setAsideUncommittedBatches(plan.parquetDir, spec.name, checkpoint.batchesTotal);
    if (set.length > 0)
      log.info({ pipeline: spec.name, files: set }, `${set.length} batch file(s) past the count set aside (renamed *.uncommitted-<time>: never replayed)`);
    const newest = Math.max(...listHistory(plan.parquetDir, spec.name).files.map((f) => f.seq));
    store.advance(spec.name, { position: null, rows: 0, batches: newest - checkpoint.batchesTotal }, checkpoint.generation);
    checkpoint = store.get(spec.name);
  }
  let resumeFrom = checkpoint?.position ?? null;
  // The history count in the state store as this run last left it (repaired-during-run.ts): a repair moves it.
  let counted = checkpoint?.batchesTotal ?? 0;
  let pg;
  try {
    // Bounded: an unreachable host would otherwise hold this pipeline (and its pool slot) for the OS TCP timeout.
    pg = await connectPostgres(plan.connection ?? '', { label: spec.name, connectTimeoutMs: 30_000 });
  } catch (cause) {
    throw new StageError({ pipeline: spec.name, stage: 'setup', resumeFrom }, { cause });
  }
  const summary: RunSummary = {
    pipeline: spec.name,
    batches: 0,
    rows: 0,
    upserted: 0,
    bytes: 0,
    durationMs: 0,
    position: resumeFrom,
    bootstrapDone: checkpoint?.bootstrapDone ?? false,
  };
  // Where the next run starts: the stored checkpoint, or (when the state store itself failed) the last one this run wrote.
  const stored = (): Position | null => {
    try {
      return store.get(spec.name)?.position ?? null;
    } catch {
      return summary.position;
    }
  };
  // A failure of something that waited for a commit (or of the COMMIT) is that step's, of its own batch.
  const failure = (stage: StageName | 'setup', batch: number | undefined, cause: unknown) =>
    cause instanceof DeferredStepError
      ? new StageError(
          {
            pipeline: spec.name,
            stage: cause.step.stage,
            batch: cause.step.seq,
            resumeFrom: stored(),
            committed: { batches: summary.batches, rows: summary.rows },
          },
          { cause: cause.cause },
        )
      : new StageError({ pipeline: spec.name, stage, batch, resumeFrom: stored(), committed: { batches: summary.batches, rows: summary.rows } }, { cause });
  // The open row group of the current DuckDB session (null between sessions); see src/runner/row-group.ts.
  let group: RowGroup | null = null;

  const run: ReadContext = {
    spec,
    pg,
    store,
    parquetDir: plan.parquetDir,
    log,
    generation: checkpoint?.generation ?? 0,
    memory: newRunMemory(),
    progress: deps.progress,
    duckdbPath: plan.target.duckdbPath,
    openCopy: (query, opts) => openCopyCsvStream(plan.connection ?? '', `${spec.name}:stream`, query, opts),
    exportSnapshot: () => exportSnapshot(plan.connection ?? '', `${spec.name}:snapshot`),
    compactMinDeleted: deps.compactMinDeleted,
  };
  // One step of one batch; the failure names the step that threw.
  const step = async (stage: Stage, ctx: StageContext, batch: BatchState) => {
    await deps.onStep?.(stage.name, batch.seq, spec.name);
    try {
      await stage.run(ctx, batch);
    } catch (cause) {
      // Before the failure counts what is committed: the batches applied before it are kept or rolled back.
      await group?.settle();
      throw failure(stage.name, batch.seq, cause);
    }
    // The checkpoint's point fires where the checkpoint is written (checkpoint.ts): that may wait for the group's commit.
    if (stage.name !== 'checkpoint') faultPoint(`after-${stage.name}` as FaultPoint);
  };
  // The plan's first step: it produces the batch, outside any DuckDB session.
  const extract = async (seq: number, start: BatchStart): Promise<BatchState> => {
    const batch = newBatch(seq, start);
    faultPoint('before-extract');
    await deps.onStep?.('extract', seq, spec.name);
    await STAGES.extract.run(run, batch);
    faultPoint('after-extract');
    // Parquet ahead: a batch read ahead (during a session) is turned into its Parquet file at once, on
    // the session's connection, while the batch before is applied on the transaction's. Each batch's
    // DuckDB statements run on one thread, one after another: this keeps a second core busy (measured
    // in docs/architecture.md, "Facts: DuckDB"). Crash-safe as before: the file is written and fsynced
    // before its rows enter any transaction; a failure is kept for the batch's own parquet step.
    // Only for batches up to PARQUET_AHEAD_MAX_BYTES of CSV: it holds a second batch in DuckDB
    // (docs/architecture.md, "Facts: DuckDB").
    const ahead = parquetAhead;
    if (ahead && batch.csv && batch.rowCount > 0 && batch.csv.bytes <= PARQUET_AHEAD_MAX_BYTES) {
      try {
        await ahead.stage.run(ahead.ctx, batch);
        batch.parquetAhead = {};
      } catch (error) {
        batch.parquetAhead = { error };
      }
    }
    return batch;
  };
  // A read's failure is described when it is awaited, not when it happens: by then the batch before
  // it (read ahead of) has been checkpointed, and the message counts it.
  const read = (seq: number, start: BatchStart) => {
    const reading = extract(seq, start);
    reading.catch(() => {}); // awaited below, possibly after the current batch's last steps
    return {
      batch: () =>
        reading.catch(async (cause: unknown) => {
          await group?.settle();
          throw failure('extract', seq, cause);
        }),
      settled: () =>
        reading.then(
          () => {},
          () => {},
        ),
    };
  };

  const ahead = readAhead(steps);
  // The session a batch read ahead is turned into Parquet in (null outside sessions, and when the plan has no parquet step).
  const parquetStep = steps.find((st) => st.name === 'parquet');
  let parquetAhead: { stage: Stage; ctx: StageContext } | null = null;
  const rotation = new SessionRotation(deps.sessionRows ?? SESSION_ROWS);
  const freeze = new HorizonFreeze();
  // The rest of one batch's steps, inside a session. Returns the next batch's read, if there is a next batch.
  type Read = ReturnType<typeof read>;
  const finish = async (ctx: StageContext, batch: BatchState): Promise<Read | null> => {
    freeze.apply(batch);
    let next: Read | null = null;
    const readNext = () => {
      if (next || deps.shouldStop?.()) return;
      const after = nextStart(batch);
      if (after) next = read(after.seq, after.start);
    };
    try {
      for (const [i, stage] of steps.entries()) {
        if (i === ahead.startsBefore) readNext();
        await step(stage, ctx, batch);
      }
    } catch (err) {
      // The read ahead must not outlive the run's Postgres session; its outcome no longer matters.
      await (next as Read | null)?.settled();
      throw err;
    }
    readNext();
    return next;
  };

  try {
    // Before any row is read: a source that would lose or mix rows stops here, the checkpoint untouched.
    try {
      const { rebootstrap, walLsn } = await guardSource(spec, pg, store, log);
      if (walLsn !== null) summary.sourceWalLsn = walLsn;
      if (rebootstrap) {
        // on_recreate: rebootstrap. What `reset --drop-target` does, in its order: the DuckDB table
        // first (a locked file fails before the checkpoint is touched), then the checkpoint (a new
        // generation). A crash in between finds the same re-created table next run and does it again.
        // Only a table holding the re-created table's rows is dropped (its recorded source: the old
        // table's oid, or its name in an older record): two pipeline files that swapped names each
        // find the other's table there, whose rows (some kept only in DuckDB) are this source's, not
        // stale ones; it is bootstrapped over instead (found by review).
        const dropped = await deps.lake.withSession(plan.target.duckdbPath, async (lake) => {
          if (!recordedFromTable(await targetSource(lake, spec.target), spec, rebootstrap.was.tableOid)) return false;
          await dropTarget(lake, spec.target);
          return true;
        });
        store.reset(spec.name);
        store.saveSourceIdentity(spec.name, rebootstrap.now);
        const what = dropped ? 'dropped and bootstrapped again' : 'bootstrapped again over its rows (it holds no rows of the table before)';
        store.addSchemaEvent(spec.name, 'recreated', `${rebootstrap.change}: target table ${targetLabel(spec.target)} ${what} (on_recreate: rebootstrap)`);
        log.warn({ pipeline: spec.name }, `${rebootstrap.change}: on_recreate is rebootstrap, so DuckDB table ${targetLabel(spec.target)} was ${what}`);
        checkpoint = store.get(spec.name);
        counted = checkpoint?.batchesTotal ?? 0;
        resumeFrom = null;
        run.generation = checkpoint?.generation ?? 0;
        summary.position = null;
        summary.bootstrapDone = false;
      }
      // The checkpoint was written for rows loaded into another table or file than this run's target.
      const target = targetIdentity(plan.target.duckdbPath, spec.target);
      if (checkpoint?.target && checkpoint.target !== target && checkpointHasProgress(checkpoint)) throw targetChanged(spec, checkpoint.target, target);
    } catch (cause) {
      throw failure('setup', undefined, cause);
    }
    if (deps.progress && !summary.bootstrapDone) {
      // Only a display: a failed estimate shows the rows done without a total.
      const estimate = await estimateRows(pg, spec.source.schema, spec.source.table).catch(() => null);
      deps.progress.begin(spec.name, { done: resumeFrom ? (checkpoint?.rowsTotal ?? 0) : 0, estimate });
    }
    let batch: BatchState | null = await read((checkpoint?.batchesTotal ?? 0) + 1, { phase: 'cursor', from: resumeFrom }).batch();
    // A batch counts once DuckDB committed it and its checkpoint is written (its group's commit runs this).
    const committed = (done: BatchState) => {
      summary.bytes += batchBytes(done);
      if (done.rowCount > 0) {
        summary.batches++;
        summary.rows += done.rowCount;
        summary.upserted += done.upserted ?? 0;
        if (done.safe) summary.position = done.safe;
        log.info(
          {
            pipeline: spec.name,
            batch: done.seq,
            rows: done.rowCount,
            upserted: done.upserted,
            bytes: batchBytes(done),
            cursor: done.last?.cursor,
            // A batch of the bootstrap stream, and whether its DELETE was skipped (src/stages/bootstrap-stream.ts).
            ...(done.stream ? { stream: true, keysAbsent: done.keysAbsent === true } : {}),
          },
          'batch applied',
        );
        deps.onBatch?.(spec.name, done);
        deps.progress?.advance(spec.name, done.rowCount);
      } else if (done.backfillBytes) {
        // No rows of its own, but its drift check ran a backfill: its files count as written.
        deps.onBatch?.(spec.name, done);
      }
      if (done.drained && done.phase === 'cursor') summary.bootstrapDone = true;
    };
    while (batch) {
      // An idle run whose target check matched (src/stages/target-check.ts) leaves the DuckDB file closed.
      const open = batch.targetUnchanged ? withoutSession : withSession;
      await open(deps.lake, plan.target.duckdbPath, failure, async (lake) => {
        if (open === withSession) {
          // Holding the file now, no repair can land until the session ends: did one land since this run last held it?
          const now = store.get(spec.name)?.batchesTotal ?? 0;
          if (now !== counted) throw new RepairedDuringRunError(spec.name, counted, now);
        }
        const rowGroup = new RowGroup(lake, deps.groupRows ?? GROUP_ROWS, spec.target);
        group = rowGroup;
        const ctx: StageContext = { ...run, lake, transaction: rowGroup };
        // An idle run's session refuses every use: nothing is read ahead there anyway (an idle batch is the last).
        if (parquetStep && !batch?.targetUnchanged) parquetAhead = { stage: parquetStep, ctx };
        const commit = async () => {
          try {
            await rowGroup.commit();
          } catch (cause) {
            await rowGroup.rollback();
            throw failure('upsert', undefined, cause);
          }
        };
        rotation.begin();
        // What this session's commits left in the state store, while it still holds the file.
        const leave = () => {
          counted = store.get(spec.name)?.batchesTotal ?? 0;
        };
        try {
          while (batch) {
            const next = await finish(ctx, batch);
            const done = batch;
            rotation.applied(done.rowCount);
            rowGroup.afterCommit({ stage: 'checkpoint', seq: done.seq }, () => committed(done));
            const last = !next || deps.shouldStop?.();
            // A stop finishes the batch in flight and commits what is applied; rotation ends the session, which must not hold it.
            if (last || rowGroup.full || rotation.due) {
              try {
                await commit();
              } catch (err) {
                // The read ahead may be writing its Parquet file on this session: it ends before the session does.
                await next?.settled();
                throw err;
              }
            }
            if (last) {
              await next?.settled();
              batch = null;
              // Counted in this session, not in one of its own afterwards (an ATTACH and a checkpointing DETACH more).
              if (summary.rows > 0) summary.targetRows = await countTarget(lake, spec.target);
              leave();
              return;
            }
            batch = await next.batch();
            // A new session for the next rows: the instance closes in between, freeing DuckDB's memory.
            if (rotation.due) {
              leave();
              return;
            }
          }
        } finally {
          parquetAhead = null;
          // Open only after a failure (rolled back by then) or a bug: never left to the session's end.
          await rowGroup.rollback();
          group = null;
        }
      });
    }
  } finally {
    deps.progress?.end(spec.name);
    // A stop or a failure ends the bootstrap stream too: its COPY, its connection, its files not applied (bootstrap-stream.ts).
    if (isStreamSource(run.memory.stream)) await run.memory.stream.close();
    await endQuietly(pg);
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

/** The stages of the plan's steps after the first, which must be the read (extract). Checked before any I/O. */
function stagesOf(plan: Plan): Stage[] {
  const [first, ...rest] = plan.steps.map((s) => s.stage);
  if (first !== 'extract') throw new Error(`plan of ${plan.pipeline}: the first step must be extract (it produces the batch), not ${first ?? 'nothing'}`);
  return rest.map((name) => {
    const stage = (STAGES as Record<string, Stage | undefined>)[name];
    if (!stage) throw new Error(`plan of ${plan.pipeline}: no stage named ${JSON.stringify(name)}`);
    return stage;
  });
}

/** A session of the DuckDB file; failing to open or close it (a lock held elsewhere, a full disk) is a failure of `setup`. */
async function withSession(
  lake: Lake,
  path: string,
  failure: (stage: 'setup', batch: undefined, cause: unknown) => StageError,
  fn: (session: StageContext['lake']) => Promise<void>,
): Promise<void> {
  try {
    await lake.withSession(path, fn);
  } catch (err) {
    throw err instanceof StageError ? err : failure('setup', undefined, err);
  }
}

/**
 * The steps of an idle batch whose target check matched, with no DuckDB file opened: none of them
 * touches the target then (drift-check returns at once, parquet and upsert have no rows). A session
 * that refuses every use, so a step that would need one fails loudly instead of writing nowhere.
 */
async function withoutSession(_lake: Lake, path: string, _failure: unknown, fn: (session: StageContext['lake']) => Promise<void>): Promise<void> {
  const refuse = (): never => {
    throw new PgduckError(`internal: a step of an idle run used DuckDB file ${path}, which an idle run does not open`, { kind: 'internal', code: 'INTERNAL' });
  };
  await fn({
    get catalog() {
      return refuse();
    },
    get catalogName() {
      return refuse();
    },
    run: async () => refuse(),
    all: async () => refuse(),
    transaction: async () => refuse(),
    openTransaction: async () => refuse(),
    runOnce: async () => refuse(),
  });
}

/** The target's rows; best effort (a failure leaves `pgduck status` the last count). */
async function countTarget(lake: StageContext['lake'], target: Plan['spec']['target']): Promise<number | undefined> {
  try {
    const rows = await lake.all(`SELECT count(*)::BIGINT AS n FROM ${targetRef(lake, target)}`);
    return Number(rows[0]?.n ?? 0);
  } catch {
    return undefined;
  }
}
