/**
 * `pgduck history prune`, the part that touches files: read what each history file says about
 * itself (its size, its age, where its batch started: src/replay/read-history.ts, through an
 * in-memory DuckDB), decide with plan-prune.ts, and delete.
 *
 * Crash safety (docs/architecture.md#crash-safety): every file deleted lies before the first batch
 * of a complete pass that is kept, and a replay reads nothing before the newest complete pass, so
 * any subset of the deletions leaves a history that replay accepts and rebuilds the same table from.
 * Files are deleted oldest first, one `unlink` each (a file is there or gone, never half), then the
 * directories are fsynced so the deletions are durable; a prune that was interrupted is finished by
 * the next one. A file already gone is not an error. Nothing else is touched: no checkpoint, no
 * DuckDB file, no `*.tmp` or other file the history listing ignores.
 */
import { closeSync, fsyncSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LakeSession } from '../duckdb/lake.js';
import { faultPoint } from '../faults/fault-point.js';
import { listHistory } from '../parquet/history-files.js';
import { describeHistoryFiles } from '../replay/read-history.js';
import type { PruneFile, PrunePlan } from './plan-prune.js';

/** Every history file of a pipeline, in applied order, with what the decision needs. */
export async function readPruneFiles(memory: LakeSession, parquetDir: string, pipeline: string): Promise<PruneFile[]> {
  const { files } = listHistory(parquetDir, pipeline);
  const described = await describeHistoryFiles(memory, files);
  return described.map((f) => {
    const st = statSync(f.path);
    return { path: f.path, kind: f.kind, seq: f.seq, meta: f.meta, bytes: st.size, mtimeMs: st.mtimeMs };
  });
}

/** Delete the plan's files, oldest first; returns how many were deleted by this call (gone already: not counted). */
export function deletePlanned(plan: PrunePlan): number {
  let deleted = 0;
  const dirs = new Set<string>();
  for (const f of plan.remove) {
    try {
      unlinkSync(f.path);
      deleted++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    dirs.add(dirname(f.path));
    faultPoint('mid-prune');
  }
  for (const dir of dirs) fsyncDir(dir);
  return deleted;
}

function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the unlinks are then as durable as they make them.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
