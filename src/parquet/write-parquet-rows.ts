/**
 * Rows of Postgres wire text → one Parquet file (arrow-table.ts, then write-parquet.ts), with the
 * writer's libraries imported at first use: apache-arrow and parquet-wasm take ~125 ms of CPU to
 * load (docs/architecture.md#facts-cli-startup), and every command that writes no Parquet (validate, plan, status,
 * an idle run) should not pay for them. Later calls reuse the loaded modules.
 */
import type { ArrowColumnSpec, WireRow } from './arrow-table.js';

/** Writes `rows` to `path` atomically (see write-parquet.ts); returns the file's bytes. */
export async function writeParquetRows(path: string, columns: ArrowColumnSpec[], rows: WireRow[], metadata: Record<string, string> = {}): Promise<number> {
  const [{ buildArrowTable }, { writeParquetFile }] = await Promise.all([import('./arrow-table.js'), import('./write-parquet.js')]);
  return writeParquetFile(path, buildArrowTable(columns, rows), metadata);
}
