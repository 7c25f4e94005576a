/**
 * Arrow table → Parquet file, atomically: written to `<file>.tmp`, fsynced, then renamed, so a
 * reader (or a crash) never sees half a file.
 */
import { tableToIPC, type Table } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeParquetFile(path: string, table: Table): number {
  // The wasm table is consumed by writeParquet; wasm memory only grows, so batches stay ≤ ~200k rows.
  const wasmTable = parquet.Table.fromIPCStream(tableToIPC(table, 'stream'));
  const props = new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.ZSTD).build();
  const bytes = parquet.writeParquet(wasmTable, props);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return bytes.byteLength;
}
