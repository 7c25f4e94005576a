/**
 * The last step of every history file write: the file was written complete to a temporary name
 * beside it; fsync it, then rename it into place. A reader (or a crash) sees either no file or the
 * whole file, and a renamed file's bytes are on disk (docs/architecture.md, "Crash safety").
 *
 * Kept free of any Parquet library: the row-array writer (parquet-wasm), the CSV path and the deletes
 * files (both written by DuckDB) share it, and the lazy-loading rule keeps parquet-wasm out of the
 * latter two.
 */
import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';

export function fsyncAndRename(tmp: string, path: string): void {
  const fd = openSync(tmp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
