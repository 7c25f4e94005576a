/**
 * parquet: the batch becomes one Parquet file under parquet/<pipeline>/, the replayable history
 * and the only way data reaches DuckDB. The file name is the batch's sequence number, so a batch
 * re-extracted after a crash overwrites its own unfinished predecessor instead of adding a second.
 */
import { join } from 'node:path';
import { buildArrowTable } from '../parquet/arrow-table.js';
import { writeParquetFile } from '../parquet/write-parquet.js';
import type { BatchState, Stage, StageContext } from './stage.js';

export function parquetPathFor(parquetDir: string, pipeline: string, seq: number): string {
  return join(parquetDir, pipeline, `${String(seq).padStart(10, '0')}.parquet`);
}

export const parquetStage: Stage = {
  name: 'parquet',
  describe() {
    return { writes: 'parquet/<pipeline>/<batch seq>.parquet (zstd; tmp file + fsync + rename)' };
  },
  async run(ctx: StageContext, batch: BatchState) {
    const table = buildArrowTable(batch.columns, batch.rows);
    const path = parquetPathFor(ctx.parquetDir, ctx.spec.name, batch.seq);
    batch.parquetBytes = writeParquetFile(path, table);
    batch.parquetPath = path;
  },
};
