/**
 * The Parquet history of a pipeline: which files exist under parquet/<pipeline>/, what each one is,
 * and in which order they were applied to the DuckDB table. Names only: no file is opened here.
 *
 *   <seq 10 digits>.parquet                       one extracted batch (every column of its rows),
 *                                                 applied by DELETE + INSERT of its keys
 *   backfill/<seq>.<backfill id 6>.<offset 12>.parquet
 *                                                 one batch of a backfill (key, cursor and the
 *                                                 backfilled columns of existing rows), applied as an
 *                                                 UPDATE, during the drift check of batch <seq>: after
 *                                                 batch <seq>-1 and before batch <seq> itself
 *   deletes/<seq>.parquet                         keys reconcile or `verify --repair` found gone from the
 *                                                 source (src/repair/repair-rows.ts): removed from the
 *                                                 table, or marked under hard_delete_mode mark. It takes
 *                                                 a batch number of its own, as a repair file does; in a
 *                                                 folder of its own, so `<pipeline>/*.parquet` still
 *                                                 globs the rows' files only
 *
 * `seq` is the pipeline's batch counter: it never restarts (a `reset` keeps it), so sorting by it is
 * the order the runner applied the files. A batch whose run failed keeps its seq and is written
 * again by the next run under the same name, so one seq is one file. `offset` is the number of rows
 * of that backfill done before the batch, so a resumed backfill adds files instead of replacing them.
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/** `batch`: rows of the source (replace their keys); `backfill`: columns of existing rows (UPDATE); `deletes`: keys gone from the source. */
export type HistoryKind = 'batch' | 'backfill' | 'deletes';

export interface HistoryFile {
  path: string;
  kind: HistoryKind;
  /** The batch seq; for a backfill file, the batch whose drift check ran it (it applies before that batch). */
  seq: number;
  backfillId: number | null;
  offset: number | null;
}

const BATCH = /^(\d{10})\.parquet$/;
const BACKFILL = /^(\d{10})\.(\d{6})\.(\d{12})\.parquet$/;
const DELETES = /^(\d{10})\.parquet$/;

export function batchFilePath(parquetDir: string, pipeline: string, seq: number): string {
  return join(parquetDir, pipeline, `${String(seq).padStart(10, '0')}.parquet`);
}

/** The keys a reconcile (or `verify --repair`) found gone from the source, as history batch `seq`. */
export function deletesFilePath(parquetDir: string, pipeline: string, seq: number): string {
  return join(parquetDir, pipeline, 'deletes', `${String(seq).padStart(10, '0')}.parquet`);
}

/**
 * The CSV a batch is copied into before DuckDB writes its Parquet file (the CSV data path):
 * `.tmp/<pipeline>/<seq 10 digits>.csv.tmp` under PARQUET_DIR. Removed once the Parquet file is
 * written; one left by a crash is removed by the pipeline's next run (isCsvTemp: only names of this
 * form). In a folder of their own, not beside the batch files: the next run lists it to find them,
 * and a history folder of months holds hundreds of thousands of files (listing 300,000 took
 * 0.36–0.44 s, on every run: docs/architecture.md "Parquet history"); and outside the history folder,
 * which holds the history only.
 */
export function csvTempPath(parquetDir: string, pipeline: string, seq: number): string {
  return join(csvTempDir(parquetDir, pipeline), `${String(seq).padStart(10, '0')}.csv.tmp`);
}

/** The folder csvTempPath writes in. */
export function csvTempDir(parquetDir: string, pipeline: string): string {
  return join(parquetDir, '.tmp', pipeline);
}

/** Where pgduck before 0.1 wrote a batch's CSV, beside the batch files (legacy leftovers only). */
export function legacyCsvTempDir(parquetDir: string, pipeline: string): string {
  return join(parquetDir, pipeline);
}

const CSV_TEMP = /^\d{10}\.csv\.tmp$/;

/** A file name pgduck gives a batch's CSV (csvTempPath); nothing else is ever removed as one. */
export function isCsvTemp(name: string): boolean {
  return CSV_TEMP.test(name);
}

export function backfillFilePath(parquetDir: string, pipeline: string, seq: number, backfillId: number, offset: number): string {
  return join(
    parquetDir,
    pipeline,
    'backfill',
    `${String(seq).padStart(10, '0')}.${String(backfillId).padStart(6, '0')}.${String(offset).padStart(12, '0')}.parquet`,
  );
}

/**
 * Batch files numbered past the batches the state store counts (`counted`) were written by a run that
 * never checkpointed them: it crashed or failed inside its row group. The next run rewrites the numbers
 * it reaches, but one that needs fewer batches leaves the rest, and a number a repair then takes would
 * make them look committed to replay (found by review: rows the source had lost came back in a
 * rebuilt table). So the next run (before its first batch) and a repair (before it numbers its files)
 * set them aside: renamed `<name>.uncommitted-<time>`, which no history reader lists; nothing is
 * deleted. Their rows are either not in DuckDB (never committed) or re-read by the next run from the
 * checkpoint. Returns the files set aside (their old paths).
 */
export function setAsideUncommittedBatches(parquetDir: string, pipeline: string, counted: number): string[] {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const moved: string[] = [];
  // A run numbers its batches from the count on, each with rows writing its file: what a crashed run left
  // is the files right after the count, with no gap. Probed by name (one stat when there is none), not by
  // listing the history, which grows with every batch until it is pruned.
  for (let seq = counted + 1; ; seq++) {
    const path = batchFilePath(parquetDir, pipeline, seq);
    if (!existsSync(path)) break;
    renameSync(path, `${path}.uncommitted-${stamp}`);
    moved.push(path);
  }
  return moved;
}

/**
 * The highest batch number a deletes or backfill file of the pipeline holds (0: none); reads those two
 * folders only. A run takes it when it lies past the count (run-pipeline.ts): such a file was numbered
 * by a life of the pipeline the state store does not remember (a crash before a checkpoint, a state
 * store restored from an older copy), and a batch numbered below it would replay before it.
 */
export function newestDeletesOrBackfillSeq(parquetDir: string, pipeline: string): number {
  let newest = 0;
  for (const [folder, name] of [
    ['backfill', BACKFILL],
    ['deletes', DELETES],
  ] as const) {
    const dir = join(parquetDir, pipeline, folder);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      const m = name.exec(file);
      if (m) newest = Math.max(newest, Number(m[1]));
    }
  }
  return newest;
}

/**
 * Every history file of a pipeline in the order it was applied; `ignored` lists other files found
 * there (`*.tmp` of an interrupted write, backfill files named before backfills were kept).
 */
export function listHistory(parquetDir: string, pipeline: string): { dir: string; files: HistoryFile[]; ignored: string[] } {
  const dir = join(parquetDir, pipeline);
  const files: HistoryFile[] = [];
  const ignored: string[] = [];
  if (!existsSync(dir)) return { dir, files, ignored };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name === 'backfill') {
      for (const name of readdirSync(join(dir, 'backfill'))) {
        const m = BACKFILL.exec(name);
        if (m) files.push({ path: join(dir, 'backfill', name), kind: 'backfill', seq: Number(m[1]), backfillId: Number(m[2]), offset: Number(m[3]) });
        else ignored.push(join(dir, 'backfill', name));
      }
      continue;
    }
    if (entry.isDirectory() && entry.name === 'deletes') {
      for (const name of readdirSync(join(dir, 'deletes'))) {
        const m = DELETES.exec(name);
        if (m) files.push({ path: join(dir, 'deletes', name), kind: 'deletes', seq: Number(m[1]), backfillId: null, offset: null });
        else ignored.push(join(dir, 'deletes', name));
      }
      continue;
    }
    const m = BATCH.exec(entry.name);
    if (m && entry.isFile()) files.push({ path: join(dir, entry.name), kind: 'batch', seq: Number(m[1]), backfillId: null, offset: null });
    else ignored.push(join(dir, entry.name));
  }
  files.sort(compareHistoryFiles);
  return { dir, files, ignored };
}

/** Within one seq: a deletes file, then the backfill batches, then the batch (see compareHistoryFiles). */
const KIND_ORDER: Record<HistoryKind, number> = { deletes: 0, backfill: 1, batch: 2 };

/**
 * Applied order: by seq; within one seq, its backfill batches (by backfill, then offset) before the
 * batch. A deletes file shares a seq with a batch only when its reconcile's checkpoint was not
 * recorded (a crash between the DuckDB commit and the state store): the next batch then takes the
 * same number, and was applied after it, so it goes first.
 */
export function compareHistoryFiles(a: HistoryFile, b: HistoryFile): number {
  if (a.seq !== b.seq) return a.seq - b.seq;
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  return (a.backfillId ?? 0) - (b.backfillId ?? 0) || (a.offset ?? 0) - (b.offset ?? 0);
}
