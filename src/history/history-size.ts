/**
 * How much Parquet history a pipeline holds: its files (batch, backfill and deletes) and their bytes, from
 * file names and sizes alone (no file is opened). What `pgduck status` and `pgduck history` show,
 * so a history growing without bound is seen before the disk fills (README "History retention").
 */
import { statSync } from 'node:fs';
import { listHistory } from '../parquet/history-files.js';

export interface HistorySize {
  files: number;
  /** Of those, deletes files (the keys reconcile found gone, src/repair/deletes-file.ts). */
  deletesFiles: number;
  bytes: number;
  /** Seq of the oldest and newest file (null: no history). */
  firstSeq: number | null;
  lastSeq: number | null;
}

export function historySize(parquetDir: string, pipeline: string): HistorySize {
  const { files } = listHistory(parquetDir, pipeline);
  let bytes = 0;
  let counted = 0;
  let deletesFiles = 0;
  for (const f of files) {
    try {
      bytes += statSync(f.path).size;
      counted++;
      if (f.kind === 'deletes') deletesFiles++;
    } catch {
      // deleted meanwhile (a prune running at the same time): not history any more
    }
  }
  return { files: counted, deletesFiles, bytes, firstSeq: files[0]?.seq ?? null, lastSeq: files[files.length - 1]?.seq ?? null };
}

/** `0 B`, `812 B`, `14.2 kB`, `3.1 MB`, `1.20 GB` (powers of 1000, as `ls -h --si` and `du --si`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 && u >= 2 ? 2 : 1)} ${units[u]}`;
}

/** `12 files, 3.1 MB (batches 1…40)`, `14 files (2 of deletes), …`, `no history`. */
export function describeSize(size: HistorySize): string {
  if (size.files === 0) return 'no history';
  const deletes = size.deletesFiles > 0 ? ` (${size.deletesFiles} of deletes)` : '';
  return `${size.files} file${size.files === 1 ? '' : 's'}${deletes}, ${formatBytes(size.bytes)} (batches ${size.firstSeq}…${size.lastSeq})`;
}

/** Sizes of several pipelines' histories, by name (`pgduck status --json`: `history`). */
export function historySizes(parquetDir: string, pipelines: string[]): Record<string, HistorySize> {
  return Object.fromEntries(pipelines.map((p) => [p, historySize(parquetDir, p)]));
}

/** The lines `pgduck status` adds: one per pipeline that has history. */
export function renderHistorySizes(sizes: Record<string, HistorySize>): string {
  const held = Object.entries(sizes).filter(([, s]) => s.files > 0);
  if (held.length === 0) return '';
  const width = Math.max(...held.map(([p]) => p.length));
  return `\nParquet history (pgduck history prune deletes what history.keep no longer keeps):\n${held.map(([p, s]) => `  ${p.padEnd(width)}  ${describeSize(s)}`).join('\n')}\n`;
}
