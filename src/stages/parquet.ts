/**
 * parquet: the batch becomes one Parquet file under parquet/<pipeline>/, the replayable history
 * and the only way data reaches DuckDB. The file name is the batch's sequence number, so a batch
 * re-extracted after a crash overwrites its own unfinished predecessor instead of adding a second.
 */
import { writeParquetRows } from '../parquet/write-parquet-rows.js';
import { batchFilePath } from '../parquet/history-files.js';
import { encodeHistoryMetadata, type HistoryMetadata } from '../parquet/history-metadata.js';
import { writeParquetFromCsv } from '../parquet/csv-to-parquet.js';
import type { PgColumn } from '../schema/column.js';
import type { BatchState, Stage, StageContext } from './stage.js';

export const parquetPathFor = batchFilePath;

export const parquetStage: Stage = {
  name: 'parquet',
  // parquetAhead: set by the runner (parquet-ahead), after the batch's read.
  reads: ['columns', 'rows', 'rowCount', 'seq', 'phase', 'from', 'drained', 'sourceColumns', 'csv', 'parquetAhead'],
  writes: ['parquetPath', 'parquetBytes', 'parquetTransport', 'rows', 'csv', 'parquetAhead'],
  postgres: false,
  describe() {
    return {
      when: 'the batch has rows',
      writes: 'parquet/<pipeline>/<batch seq>.parquet (zstd; tmp file + fsync + rename; column descriptions in its key-value metadata, for pgduck replay)',
      'CSV data path':
        "a keyset batch copied as CSV (<batch seq>.csv.tmp): DuckDB read_csv (every column VARCHAR) casts each column to its DuckDB type and writes the file (INTERVAL and TIMETZ stay text: Parquet holds neither exactly); a value with no typed form makes the whole file text (the upsert's cast then names it); the CSV is removed",
    };
  },
  async run(ctx: StageContext, batch: BatchState) {
    // Already run ahead, while the batch before was applied (the runner's parquet-ahead policy): its outcome is this step's.
    if (batch.parquetAhead) {
      const { error } = batch.parquetAhead;
      batch.parquetAhead = undefined;
      if (error !== undefined) throw error;
      return;
    }
    // Nothing new: no file (a history file always holds rows).
    if (batch.rowCount === 0) return;
    const path = parquetPathFor(ctx.parquetDir, ctx.spec.name, batch.seq);
    // The catalog description of each column travels with the file: `pgduck replay` maps it without Postgres.
    const meta: Omit<HistoryMetadata, 'format' | 'transport' | 'textColumns'> = {
      pipeline: ctx.spec.name,
      kind: 'batch',
      seq: batch.seq,
      // A null-cursor chunk starts no pass and ends none: it says only that the pass before it had ended.
      ...(batch.phase === 'null-cursor' ? { nullCursor: true } : { from: batch.from, drained: batch.drained }),
      // A pass whose last batch was full ends with an empty read, which writes no file: the next batch says it.
      passDone: batch.phase === 'null-cursor' || (ctx.store.get(ctx.spec.name)?.bootstrapDone ?? false),
      source: { table: `${ctx.spec.source.schema}.${ctx.spec.source.table}`, primaryKey: ctx.spec.source.primaryKey, cursor: ctx.spec.source.cursor },
      columns: batch.columns.map((c) => batch.sourceColumns.find((s) => s.attnum === c.attnum) as PgColumn),
    };
    if (batch.csv) {
      const csv = batch.csv;
      batch.csv = undefined;
      const written = await writeParquetFromCsv(ctx.lake, csv, path, batch.columns, (transport) => encodeHistoryMetadata(meta, transport));
      batch.parquetBytes = written.bytes;
      batch.parquetTransport = written.transport;
      batch.parquetPath = path;
      return;
    }
    batch.parquetBytes = await writeParquetRows(path, batch.columns, batch.rows, encodeHistoryMetadata(meta));
    batch.parquetTransport = { transport: 'text', textColumns: [] };
    batch.parquetPath = path;
    // From here on the file holds the rows: let them go before the next batch is read.
    batch.rows = [];
  },
};
