/**
 * Execute a replay plan (replay-plan.ts) on an open DuckDB file. Reads only Parquet files; never
 * Postgres, never the state store.
 *
 * `replace` (rebuild): the table is built beside the old one, file by file, then swapped in (DROP +
 * RENAME in one transaction); an interruption leaves the old table as it was (and the half-built one,
 * dropped by the next replay). `monotonic`: one transaction per file, none of which moves a row
 * backwards, so an interruption leaves a table that is only ever newer than before.
 */
import type { LakeSession } from '../duckdb/lake.js';
import { addColumn, createCurrentView, createTarget, targetRef } from '../duckdb/target-table.js';
import { applyParquet } from '../stages/upsert.js';
import { buildBackfillSql } from '../stages/backfill.js';
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ColumnMapping } from '../schema/column.js';
import type { PlannedFile, ReplayPlan } from './replay-plan.js';

export interface ReplayOutcome {
  files: number;
  batches: number;
  backfills: number;
  /** Rows written by batch files (after the monotonic filter), rows updated by backfill files. */
  rowsWritten: number;
  rowsUpdated: number;
}

const LATEST = quoteIdent('pgduck_replay_latest');

export async function runReplay(
  session: LakeSession,
  spec: Pick<PipelineSpec, 'name' | 'source' | 'target'>,
  plan: ReplayPlan,
  onFile?: (done: number, total: number) => void,
): Promise<ReplayOutcome> {
  const keys = spec.source.primaryKey;
  const cursor = spec.source.cursor;
  const table = plan.buildAs ?? plan.table;
  const outcome: ReplayOutcome = { files: 0, batches: 0, backfills: 0, rowsWritten: 0, rowsUpdated: 0 };

  if (plan.buildAs) {
    await session.run(`DROP TABLE IF EXISTS ${targetRef(session, plan.buildAs)}`);
    await createTarget(session, plan.buildAs, plan.create ?? [], keys);
  } else {
    for (const c of plan.add) await addColumn(session, plan.table, c);
  }
  if (plan.mode === 'monotonic') await buildLatest(session, plan, keys);

  try {
    for (const [i, f] of plan.files.entries()) {
      const columns = asMappings(f);
      if (f.file.kind === 'batch') {
        const only = plan.mode === 'monotonic' ? `EXISTS (SELECT 1 FROM ${LATEST} AS l WHERE ${keyMatch(keys, 'l', 'b')} AND l.seq = ${f.file.seq})` : undefined;
        outcome.rowsWritten += await applyParquet(session, table, f.file.path, columns, keys, cursor, plan.mode, only).catch(fileFailed(f));
        outcome.batches++;
      } else {
        outcome.rowsUpdated += await applyBackfill(session, table, f, columns, spec, plan).catch(fileFailed(f));
        outcome.backfills++;
      }
      outcome.files++;
      onFile?.(i + 1, plan.files.length);
    }
    if (plan.buildAs) {
      const built = plan.buildAs;
      await session.transaction(async () => {
        await session.run(`DROP TABLE IF EXISTS ${targetRef(session, plan.table)}`);
        await session.run(`ALTER TABLE ${targetRef(session, built)} RENAME TO ${quoteIdent(plan.table)}`);
      });
    }
    if (spec.source.softDelete) await createCurrentView(session, plan.table, spec.source.softDelete);
  } finally {
    if (plan.mode === 'monotonic') await session.run(`DROP TABLE IF EXISTS ${LATEST}`).catch(() => {});
  }
  return outcome;
}

/** Planned columns as the mappings applyParquet and the backfill's UPDATE take: the table's name, the file's expression. */
function asMappings(f: PlannedFile): ColumnMapping[] {
  return f.columns.map((c) => {
    const original = f.file.columns.find((fc) => fc.parquetName === c.parquetName)!.mapping;
    return { ...original, name: c.target, loadExpr: () => c.expr };
  });
}

function keyMatch(keys: string[], a: string, b: string): string {
  return keys.map((k) => `${a}.${quoteIdent(k)} = ${b}.${quoteIdent(k)}`).join(' AND ');
}

/** `monotonic`: for every key in the batch files from range.from on, the seq of the newest file holding it. */
async function buildLatest(session: LakeSession, plan: ReplayPlan, keys: string[]): Promise<void> {
  const all = quoteIdent('pgduck_replay_keys');
  const keyList = keys.map(quoteIdent).join(', ');
  await session.run(`DROP TABLE IF EXISTS ${all}`);
  try {
    let created = false;
    for (const f of plan.keyFiles) {
      const exprs = keys.map((k) => `${f.columns.find((c) => c.target === k)!.expr} AS ${quoteIdent(k)}`);
      const select = `SELECT ${exprs.join(', ')}, ${f.file.seq}::BIGINT AS seq FROM read_parquet(${quoteLiteral(f.file.path)})`;
      await session.run(created ? `INSERT INTO ${all} ${select}` : `CREATE TEMP TABLE ${all} AS ${select}`).catch(fileFailed(f));
      created = true;
    }
    if (!created) await session.run(`CREATE TEMP TABLE ${all} AS SELECT ${keys.map((k) => `NULL AS ${quoteIdent(k)}`).join(', ')}, NULL::BIGINT AS seq WHERE false`);
    await session.run(`CREATE OR REPLACE TEMP TABLE ${LATEST} AS SELECT ${keyList}, max(seq) AS seq FROM ${all} GROUP BY ALL`);
  } finally {
    await session.run(`DROP TABLE IF EXISTS ${all}`);
  }
}

/** A backfill batch: its columns set on the rows the table holds (the backfill's own UPDATE, never backwards), in `monotonic` only where no batch file from its seq on holds the key. */
async function applyBackfill(session: LakeSession, table: string, f: PlannedFile, columns: ColumnMapping[], spec: Pick<PipelineSpec, 'name' | 'source' | 'target'>, plan: ReplayPlan): Promise<number> {
  const keys = spec.source.primaryKey;
  const byName = (n: string) => columns.find((c) => c.name === n)!;
  const filled = columns.filter((c) => !keys.includes(c.name) && c.name !== spec.source.cursor);
  if (filled.length === 0) return 0;
  const sql = buildBackfillSql(spec as PipelineSpec, keys.map(byName), [], byName(spec.source.cursor), filled);
  let update = sql.apply(targetRef(session, table), f.file.path);
  if (plan.mode === 'monotonic') update += ` AND NOT EXISTS (SELECT 1 FROM ${LATEST} AS l WHERE ${keyMatch(keys, 'l', 'b')} AND l.seq >= ${f.file.seq})`;
  const res = await session.all(update);
  return Number(res[0]?.Count ?? 0);
}

function fileFailed(f: PlannedFile) {
  return (err: unknown): never => {
    throw new Error(`replaying ${f.file.path} failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  };
}
