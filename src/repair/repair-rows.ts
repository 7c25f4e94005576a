/**
 * `verify --repair`: make the rows verify found different equal again, without a rebuild and without
 * moving the checkpoint.
 *
 * For the differing keys (missing, extra and changed alike) the rows are read again from Postgres,
 * now, with the extract stage's own column expressions, by the key verify compared them by. In one
 * DuckDB transaction every one of those keys is deleted from the target and the rows found are
 * inserted (under soft_delete_mode remove, only the living ones): a key Postgres no longer has (a hard
 * delete) is thereby removed, a back-dated row the cursor skipped and a changed row are replaced.
 * The rows read go to a Parquet history file of their own (it takes a batch number, as a null-cursor
 * chunk does, and moves no position), so a replay of the history brings them back too; the keys not
 * found go to a deletes file of their own (the next batch number, src/repair/deletes-file.ts), so a
 * replay removes or marks them as this repair did. Both are written, fsynced, before the DuckDB
 * transaction; a deletes file whose transaction failed is removed again (it was never applied).
 *
 * Reading now rather than at verify's snapshot is what a later run would do anyway: the newest
 * version of a row is applied, and the next run applies anything newer.
 */
import { rmSync } from 'node:fs';
import { PgduckError } from '../errors/pgduck-error.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { connectPostgres } from '../postgres/connect.js';
import { introspectTable } from '../postgres/introspect-table.js';
import { postgresDigestDialect } from '../postgres/range-digest.js';
import { withDuckDbFile, type OpenDuckDb } from '../duckdb/lake.js';
import { DELETED_AT_COLUMN, describeTarget, ensureDeletedAtColumn, syncCurrentView, targetRef } from '../duckdb/target-table.js';
import { duckDbDigestDialect } from '../duckdb/range-digest.js';
import { buildVerifyShape } from '../verify/verify-shape.js';
import { RangeDigestQuery } from '../verify/range-digest-query.js';
import type { KeyTuple } from '../verify/range-side.js';
import { mapColumns } from '../stages/extract.js';
import { sourceTableMissing } from '../stages/source-table-missing.js';
import { markColumnClash } from '../schema/deleted-at-column.js';
import { buildUpsertSql, insertOnlyLiving } from '../stages/upsert.js';
import type { WireRow } from '../parquet/arrow-table.js';
import { writeParquetRows } from '../parquet/write-parquet-rows.js';
import { batchFilePath, deletesFilePath, listHistory, setAsideUncommittedBatches } from '../parquet/history-files.js';
import { deletesFileColumns, deletesTextColumns, writeDeletesFile } from './deletes-file.js';
import { encodeHistoryMetadata } from '../parquet/history-metadata.js';
import type { CheckpointStore } from '../state/checkpoint-store.js';
import { qualified, quoteIdent, quoteLiteral } from '../sql/identifier.js';

/** A stop (SIGTERM, the service stopping) came while the rows were read: nothing was applied. */
export class RepairStoppedError extends PgduckError {
  constructor(pipeline: string) {
    super(`${pipeline}: stopped before anything was applied`, { kind: 'transient', code: 'RECONCILE_STOPPED' });
    this.name = 'RepairStoppedError';
  }
}

export interface RepairOutcome {
  /** Keys asked about. */
  keys: number;
  /** Rows found in Postgres and written to the target (living rows only under soft_delete_mode remove). */
  written: number;
  /** Keys Postgres no longer has (or, under soft_delete_mode remove, has tombstoned): removed from the target. */
  removed: number;
  /** hard_delete_mode mark: keys Postgres no longer has, kept in the target with `_pgduck_deleted_at` set (0 under remove). */
  marked: number;
  /** The history file holding the rows read, if any. */
  parquetPath: string | null;
  /** The history file holding the keys removed or marked (src/repair/deletes-file.ts), if any. */
  deletesPath: string | null;
}

/** Keys per Postgres query. */
const KEYS_PER_READ = 500;

export async function repairRows(
  pipeline: ResolvedPipeline,
  keys: KeyTuple[],
  deps: {
    store: CheckpointStore;
    parquetDir: string;
    /** How to open the DuckDB file (default: an instance of its own; the service passes its Lake's). */
    openDuckDb?: OpenDuckDb;
    /** hard_delete_mode mark: when the keys were found gone (default: now). */
    markedAt?: Date;
    /** Asked between reads: true stops the repair before it applies anything (RepairStoppedError). */
    shouldStop?: () => boolean;
  },
): Promise<RepairOutcome> {
  const { spec, duckdbPath } = pipeline;
  const outcome: RepairOutcome = { keys: keys.length, written: 0, removed: 0, marked: 0, parquetPath: null, deletesPath: null };
  if (keys.length === 0) return outcome;
  const pg = await connectPostgres(pipeline.connection ?? '', { label: `repair:${spec.name}` });
  try {
    const source = await introspectTable(pg, spec.source.schema, spec.source.table);
    if (!source) throw sourceTableMissing(spec);
    const columns = mapColumns(spec, source);
    // The marks would overwrite a source column of that name (the run refuses it too: drift-check.ts).
    const clash = markColumnClash(spec, source);
    if (clash)
      throw new PgduckError(`${spec.name}: ${clash.message}: nothing was changed`, { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: clash.fix });
    const openDuckDb: OpenDuckDb = deps.openDuckDb ?? withDuckDbFile;
    return await openDuckDb(duckdbPath, async (session) => {
      const target = await describeTarget(session, spec.target);
      const lacking = columns.filter((c) => !target?.some((t) => t.name === c.name)).map((c) => c.name);
      if (!target || lacking.length > 0) {
        throw new PgduckError(
          `${spec.name}: the target table ${target ? `lacks source column(s) ${lacking.join(', ')}` : 'does not exist'}: a run must bring it up to date before a repair`,
          { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE', fix: `pgduck run --once --only ${spec.name}, then verify --repair again` },
        );
      }
      const shape = buildVerifyShape(spec, source, target);
      const pgKeys = new RangeDigestQuery(shape, postgresDigestDialect(shape));
      const duckKeys = new RangeDigestQuery(shape, duckDbDigestDialect(session, shape));

      // Read the rows now, as the extract stage selects them.
      const select = columns.map((c) => `${c.selectExpr(quoteIdent(c.name))} AS ${quoteIdent(c.name)}`).join(', ');
      const rows: WireRow[] = [];
      for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
        const params: string[] = [];
        const where = pgKeys.keyIn(keys.slice(i, i + KEYS_PER_READ), params);
        const res = await pg.query<WireRow>({
          text: `SELECT ${select} FROM ${qualified(spec.source.schema, spec.source.table)} WHERE ${where}`,
          values: params,
          rowMode: 'array',
        });
        rows.push(...res.rows);
        // Nothing is applied yet: a stop here leaves the target as it was.
        if (deps.shouldStop?.()) throw new RepairStoppedError(spec.name);
      }

      const checkpoint = deps.store.get(spec.name);
      const counted = checkpoint?.batchesTotal ?? 0;
      // A crashed run's batch files past the count would otherwise sit under the numbers this repair takes
      // (and count as committed once it moves the count past them): set aside first (history-files.ts).
      setAsideUncommittedBatches(deps.parquetDir, spec.name, counted);
      // Numbered past every deletes file already there, not only past the state store's count: after a crash
      // between an earlier repair's DuckDB commit and its state-store write, its deletes file holds the next
      // number, and one written again under the same name would replace it (a replay needs both). Batch files
      // are not counted: one past the count is a run's uncommitted batch, re-read and rewritten as before.
      // Backfill files are: an idle run names its backfill after the next batch number without taking it, and
      // a deletes file of that same number would replay before the backfill (KIND_ORDER), whose insert of
      // missing keys would bring a removed row back (found by review).
      const numbered = listHistory(deps.parquetDir, spec.name).files.filter((f) => f.kind === 'deletes' || f.kind === 'backfill');
      const base = Math.max(counted, ...numbered.map((f) => f.seq));
      // The numbers this repair takes are counted first, before any file or DuckDB change (found by review:
      // counted only after the DuckDB commit, a failed state-store write left its files past the count, where
      // the next run set the rows file aside as uncommitted and numbered its batches under the deletes
      // file). A failure here changes nothing; a number whose file ends up not written is a gap, harmless.
      const taken = rows.length > 0 ? 2 : 1;
      // The rows' file takes base + 1 (when there are rows), the deletes file the last number taken.
      const goneSeq = base + taken;
      const gonePath = deletesFilePath(deps.parquetDir, spec.name, goneSeq);
      const marking = spec.source.hardDeleteMode === 'mark';
      deps.store.advance(spec.name, { position: null, rows: 0, batches: base + taken - counted }, checkpoint?.generation ?? 0);
      // From here to the commit, a failure leaves no file behind: numbers counted, files never applied, would replay.
      try {
        if (rows.length > 0) {
          const seq = base + 1;
          const path = batchFilePath(deps.parquetDir, spec.name, seq);
          await writeParquetRows(
            path,
            columns,
            rows,
            encodeHistoryMetadata({
              pipeline: spec.name,
              kind: 'batch',
              seq,
              repair: true,
              // Read after the pass reached the end only if the checkpoint says so: a repair during a re-bootstrap
              // must not make that unfinished pass look complete to replay and prune (found by review).
              passDone: checkpoint?.bootstrapDone ?? false,
              source: { table: `${spec.source.schema}.${spec.source.table}`, primaryKey: spec.source.primaryKey, cursor: spec.source.cursor },
              columns: columns.map((c) => source.find((s) => s.attnum === c.attnum) ?? source[0]),
            }),
          );
          outcome.parquetPath = path;
        }
        const ref = targetRef(session, spec.target);
        // The column (and the view hiding by it) first: a pipeline switched to mark since its last run has neither yet.
        if (marking && (await ensureDeletedAtColumn(session, spec.target))) await syncCurrentView(session, spec.target, spec.source.softDelete);
        const markedAt = deps.markedAt ?? new Date();
        // A key asked about whose row was not found in Postgres (NOT EXISTS in the rows' file).
        const found = outcome.parquetPath
          ? ` AND NOT EXISTS (SELECT 1 FROM read_parquet(${quoteLiteral(outcome.parquetPath)}) AS b WHERE ${spec.source.primaryKey
              .map((k) => `t.${quoteIdent(k)} = ${columns.find((c) => c.name === k)!.loadExpr(`b.${quoteIdent(k)}`)}`)
              .join(' AND ')})`
          : '';
        const unmarked = marking ? ` AND t.${quoteIdent(DELETED_AT_COLUMN)} IS NULL` : '';
        const chunks: string[] = [];
        for (let i = 0; i < keys.length; i += KEYS_PER_READ) chunks.push(duckKeys.keyIn(keys.slice(i, i + KEYS_PER_READ), []));

        // The keys this repair removes or marks, as a history file of their own, before anything is applied.
        // Under mark, the whole rows (they stay in the table, marked): a rebuild from a pass that never read
        // them inserts them, marked (run-replay.ts). Under remove, the key and the cursor are enough.
        const goneColumns = marking ? columns : deletesFileColumns(columns, spec.source.primaryKey, spec.source.cursor);
        const goneKeys = await writeDeletesFile(
          session,
          gonePath,
          ref,
          goneColumns,
          chunks.map((w) => `${w}${unmarked}${found}`),
          encodeHistoryMetadata(
            {
              pipeline: spec.name,
              kind: 'deletes',
              seq: goneSeq,
              deletes: { mode: marking ? 'mark' : 'remove', at: markedAt.toISOString(), ...(marking ? { rows: true } : {}) },
              source: { table: `${spec.source.schema}.${spec.source.table}`, primaryKey: spec.source.primaryKey, cursor: spec.source.cursor },
              columns: goneColumns.map((c) => source.find((s) => s.attnum === c.attnum) ?? source[0]),
            },
            { transport: 'typed', textColumns: deletesTextColumns(goneColumns) },
          ),
        );
        if (goneKeys > 0) outcome.deletesPath = gonePath;

        const upsert = outcome.parquetPath
          ? buildUpsertSql(
              ref,
              quoteIdent('pgduck_batch'),
              outcome.parquetPath,
              columns,
              spec.source.primaryKey,
              spec.source.cursor,
              'replace',
              undefined,
              insertOnlyLiving(spec),
            )
          : null;
        // The target's rows change behind the NULL-cursor sweep's digests (src/stages/null-cursor-sweep.ts):
        // forgotten first, so its next sweep writes every chunk again (a row removed here and put back
        // in the source as it was would otherwise match its old digest and stay gone).
        deps.store.forgetNullCursorChunks(spec.name);
        if (!marking) {
          await session.transaction(async () => {
            for (const w of chunks) await session.run(`DELETE FROM ${ref} WHERE ${w}`);
            if (upsert) outcome.written = Number((await session.all(upsert.insert))[0]?.Count ?? 0);
          });
        } else {
          const at = quoteLiteral(markedAt.toISOString());
          await session.transaction(async () => {
            // The rows found replace their keys (unmarked: the column is not in the file), as the upsert does.
            if (upsert) {
              await session.run(upsert.delete);
              outcome.written = Number((await session.all(upsert.insert))[0]?.Count ?? 0);
            }
            // The keys not found are marked; a row marked already keeps the time it was first found gone.
            for (const w of chunks) {
              const res = await session.all(
                `UPDATE ${ref} AS t SET ${quoteIdent(DELETED_AT_COLUMN)} = CAST(${at} AS TIMESTAMPTZ) WHERE ${w}${unmarked}${found}`,
              );
              outcome.marked += Number(res[0]?.Count ?? 0);
            }
          });
        }
      } catch (err) {
        // Never applied: a replay must not apply them either (the next reconcile finds the keys again).
        rmSync(gonePath, { force: true });
        if (outcome.parquetPath) rmSync(outcome.parquetPath, { force: true });
        throw err;
      }
      outcome.removed = marking ? keys.length - outcome.written - outcome.marked : keys.length - outcome.written;
      // The rows read join the pipeline's row count (for status). Only a count: the numbers were taken before
      // the commit and the position stays where it was, so a failure to write it loses nothing a replay needs.
      if (rows.length > 0) {
        try {
          deps.store.advance(spec.name, { position: null, rows: rows.length, batches: 0 }, checkpoint?.generation ?? 0);
        } catch {
          // the next write of this pipeline's checkpoint meets the same store, and says what is wrong with it
        }
      }
      return outcome;
    });
  } finally {
    await pg.end().catch(() => {});
  }
}
