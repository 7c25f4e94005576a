/**
 * RunMemory: what stages remember between the batches of one run. The runner makes a new one for
 * each run, so nothing outlives a run (a service process runs a pipeline many times, and another
 * process may alter the target between two runs).
 */
import type { TargetColumn, TargetKey } from '../duckdb/target-table.js';
import type { StreamSource } from './bootstrap-stream.js';
import type { TableShape } from '../postgres/introspect-table.js';

export interface RunMemory {
  /**
   * The target's shape as drift-check last read or made it. Within one run only drift-check alters
   * the table (one run per pipeline at a time; no two pipelines share a target), so it is read once
   * per run and again after each DDL: most batches then cost no DuckDB catalog query (~5–9 ms each, measured).
   */
  /**
   * recordedSource: the source the table's comment records (targetSource); rowSlots: its row slots,
   * deleted ones included (describeTargetAndSource); both read with its columns.
   */
  target: { columns: TargetColumn[]; primaryKey: TargetKey | null; recordedSource: string | null; rowSlots: number } | null;
  /** DuckDB's own spelling of each type drift-check asked about (`TIMESTAMPTZ` → `TIMESTAMP WITH TIME ZONE`). */
  canonicalTypes: Map<string, string>;
  /** The `<table>_current` view was checked against soft_delete in this run. */
  currentViewChecked: boolean;
  /** The compact stage looked at the target in this run (it does once, at the first batch that opens the file: compact.ts). */
  compactChecked: boolean;
  /** Keys the keyset pass of this run loaded, while a NULL-cursor sweep may follow (null-cursor-sweep.ts). */
  touchedKeys: Set<string> | 'too-many';
  /** The chunk digests the previous run's sweep recorded, taken at this run's first batch (extract.ts takeLastSweep; the checkpoint step records them again as it goes). */
  lastSweep: Set<string> | null;
  /** CSVs a crashed run left (csv-extract.ts) were removed, before this run's first batch. */
  csvLeftoversSwept: boolean;
  /**
   * The bootstrap stream (bootstrap-stream.ts): null until the run's first keyset batch decides;
   * `none` when the run reads keyset batches only (bootstrap done, or a case the stream leaves to
   * them); `ended` once its files were all taken (the run goes on with keyset batches from its last
   * position). The runner closes a stream still open when the run ends, on every path. A parallel
   * bootstrap's ranges (parallel-bootstrap.ts) are one source here.
   */
  stream: StreamSource | 'none' | 'ended' | null;
  /** A range of a parallel bootstrap failed in this run: its later streams are serial. */
  parallelFailed: boolean;
  /**
   * Whether the target held no row when the stream's first batch was applied (upsert.ts): null until
   * then. True makes every batch of the stream `keysAbsent`.
   */
  streamTargetEmpty: boolean | null;
  /**
   * The source's shape as drift-check read it at the current stream's first batch. The stream's
   * `COPY` holds `ACCESS SHARE` on the table from its start to its end, so no `ALTER` changes a
   * column under it: once its first batch found the types it was read with, its later batches (read
   * under the same lock) reuse this shape instead of asking the catalog again, one query each.
   */
  streamSourceShape: TableShape | null;
}

export function newRunMemory(): RunMemory {
  return {
    target: null,
    canonicalTypes: new Map(),
    currentViewChecked: false,
    compactChecked: false,
    touchedKeys: new Set(),
    streamSourceShape: null,
    lastSweep: null,
    csvLeftoversSwept: false,
    stream: null,
    parallelFailed: false,
    streamTargetEmpty: null,
  };
}
