/**
 * Arrow table → Parquet file, atomically: written to `<file>.tmp`, fsynced, then renamed, so a
 * reader (or a crash) never sees half a file. `metadata` goes into the file's key-value metadata.
 */
import { tableToIPC, type Table } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { fsyncAndRename } from './durable-file.js';
import { basename, dirname } from 'node:path';

export function writeParquetFile(path: string, table: Table, metadata: Record<string, string> = {}): number {
  // The wasm table is consumed by writeParquet; wasm memory only grows, so batches stay ≤ ~200k rows.
  const wasmTable = parquet.Table.fromIPCStream(tableToIPC(table, 'stream'));
  const props = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setKeyValueMetadata(new Map(Object.entries(metadata)))
    .build();
  const bytes = parquet.writeParquet(wasmTable, props);
  const tmp = `${path}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, 'w');
    try {
      // writeSync may write less than asked: loop, or a short write would be renamed as a whole file.
      for (let done = 0; done < bytes.byteLength; ) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    } finally {
      closeSync(fd);
    }
    fsyncAndRename(tmp, path);
  } catch (err) {
    // A full disk or a permission error: leave no half-written file behind, and say where it failed.
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the original error is what matters
    }
    throw new Error(`cannot write Parquet file ${path}: ${(err as Error).message} (nothing kept: ${basename(tmp)} removed)`, { cause: err });
  }
  return bytes.byteLength;
}
