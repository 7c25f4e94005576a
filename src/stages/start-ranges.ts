/**
 * Start a parallel bootstrap (parallel-bootstrap.ts): export a snapshot, count and split in it, open
 * one COPY per range that imports it, then end the exporting transaction. Every connection opened
 * here is ended on every path: by the ranges' close() once started, here before that.
 */
import type { HorizonCursor } from '../postgres/horizon.js';
import type { ExportedSnapshot } from '../postgres/export-snapshot.js';
import type { CopyStream } from '../postgres/copy-stream.js';
import type { ColumnMapping, PgColumn } from '../schema/column.js';
import type { Position } from '../state/checkpoint-store.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { bootstrapParallel } from '../config/pipeline-spec.js';
import { qualified, quoteIdent } from '../sql/identifier.js';
import { BootstrapStream } from './bootstrap-stream.js';
import { buildCsvExtractSql, horizonTest, streamConditions } from './csv-extract.js';
import { RangeReader, rangeBounds, rangeFirstSeqs, splitOffsets } from './parallel-bootstrap.js';
import { readingSource } from './source-table-missing.js';
import type { BatchState, ReadContext } from './stage.js';

type Horizon = { type: HorizonCursor['type']; value: string } | null;

/** The queries the exporting transaction runs: how many rows the stream would read, and the position `offset` rows after a start (a placeholder in `plan`). */
export function buildSplitSql(
  spec: PipelineSpec,
  cursorType: string,
  keyTypes: string[],
  horizon: Horizon,
): { count: (from: Position | null) => string; positionAt: (from: Position | null, offset: number | string) => string } {
  const order = [spec.source.cursor, ...spec.source.primaryKey].map(quoteIdent);
  const types = [cursorType, ...keyTypes];
  const table = qualified(spec.source.schema, spec.source.table);
  // The stream's own conditions (buildCsvExtractSql): the same rows, in the same order.
  const where = (from: Position | null) => {
    const conditions = streamConditions(order, types, from, null, horizon ? horizonTest(order[0], horizon) : null);
    return conditions.length > 0 ? `\nWHERE ${conditions.join(' AND ')}` : '';
  };
  return {
    count: (from) => `SELECT count(*)::text FROM ${table}${where(from)}`,
    // `::text`: the text the stream's trailing hex columns carry, what `$n::type` reads back exactly. Cast
    // outside the ordered query: `SELECT "id"::text … ORDER BY "id"` would order by the output column, as text ('10001' < '9999').
    positionAt: (from, offset) =>
      `SELECT ${order.map((c) => `${c}::text`).join(', ')} FROM (\n  SELECT ${order.join(', ')} FROM ${table}${where(from).replace('\n', '\n  ')}\n  ORDER BY ${order.join(', ')}\n  OFFSET ${offset} LIMIT 1\n) AS split`,
  };
}

export interface RangeInputs {
  columns: ColumnMapping[];
  source: PgColumn[];
  cursor: PgColumn;
  keys: PgColumn[];
  horizon: Horizon;
  /** A segment's bound for a COPY session of this statement_timeout (extract.ts, streamSegmentMs). */
  segmentMs: (statementTimeoutMs: number) => number;
}

/** The ranges started, or null when the rows after the batch's position fill no more than one range (the serial stream reads them). */
export async function startRanges(ctx: ReadContext, batch: BatchState, inputs: RangeInputs): Promise<RangeReader | null> {
  const { spec } = ctx;
  const exportSnapshot = ctx.exportSnapshot as () => Promise<ExportedSnapshot>;
  const open = ctx.openCopy as NonNullable<ReadContext['openCopy']>;
  const started = Date.now();
  const snapshot = await readingSource(spec, exportSnapshot);
  const ranges: BootstrapStream[] = [];
  try {
    const cursorType = inputs.cursor.declaredType;
    const keyTypes = inputs.keys.map((k) => k.declaredType);
    const split = buildSplitSql(spec, cursorType, keyTypes, inputs.horizon);
    const [[count]] = await readingSource(spec, () => snapshot.query(split.count(batch.from)));
    const total = Number(count);
    const ends = splitOffsets(total, bootstrapParallel(spec), spec.batchSize);
    if (ends.length === 0) return null;
    const bounds = await readingSource(spec, () =>
      rangeBounds(batch.from, ends, async (from, offset) => {
        const [row] = await snapshot.query(split.positionAt(from, offset));
        return row ? { cursor: row[0], key: row.slice(1) } : null;
      }),
    );
    const seqs = rangeFirstSeqs(batch.seq, ends.slice(0, bounds.length - 1), spec.batchSize);
    // Each range imports the snapshot before the export ends, and is cut from as soon as it is open
    // (its COPY's bytes are never left without a reader, nor its failure without a listener).
    for (const [k, b] of bounds.entries()) {
      const { sql, trailing } = buildCsvExtractSql(spec, inputs.columns, cursorType, keyTypes, {
        from: b.from,
        to: b.to,
        horizon: inputs.horizon,
        cursorNullable: false,
        stream: true,
      });
      let copy: CopyStream;
      try {
        copy = await open(sql, { snapshot: snapshot.id, lock: qualified(spec.source.schema, spec.source.table) });
      } catch (err) {
        // max_connections or a role's limit reached, a DDL waiting on the table (the NOWAIT lock), a lost
        // connection: one stream reads the table instead, and says a failure of its own as it always does.
        ctx.log.warn(
          { pipeline: spec.name, range: k, err: (err as Error).message },
          'a parallel bootstrap range could not start: the bootstrap goes on serially',
        );
        ctx.memory.parallelFailed = true;
        await Promise.all(ranges.splice(0).map((r) => r.close()));
        return null;
      }
      ranges.push(
        new BootstrapStream({
          copy,
          batchSize: spec.batchSize,
          parquetDir: ctx.parquetDir,
          pipeline: spec.name,
          firstSeq: seqs[k],
          from: b.from,
          trailing,
          keyCount: inputs.keys.length,
          columns: inputs.columns,
          sourceColumns: inputs.source,
          segmentMs: inputs.segmentMs(copy.statementTimeoutMs),
        }),
      );
    }
    ctx.log.debug(
      {
        pipeline: spec.name,
        rows: total,
        ranges: ranges.length,
        firstSeqs: seqs,
        ends: bounds.map((b) => b.to),
        splitMs: Date.now() - started,
        horizon: inputs.horizon?.value ?? null,
      },
      'parallel bootstrap started',
    );
    return new RangeReader({
      ranges: ranges.splice(0), // the reader owns them now
      onRangeFailed: (range, err) =>
        ctx.log.warn(
          { pipeline: spec.name, range, err: (err as Error).message },
          'a parallel bootstrap range failed: the bootstrap goes on serially from the last applied batch',
        ),
    });
  } finally {
    // Left here only on a failure: each range's connection ended, its files removed.
    await Promise.all(ranges.map((r) => r.close()));
    // Every range imported the snapshot (or none will): the export is no longer needed.
    await snapshot.close();
  }
}
