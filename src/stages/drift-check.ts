/**
 * drift-check: before a batch lands, make the DuckDB table able to hold it (rule 7).
 *
 * Compares the batch's source columns (by attnum, so a rename is a rename) with the target and the
 * last snapshot in the state store, then, by the pipeline's `schema_evolution` policy:
 *   evolve  add new columns, widen widened types, rename renamed columns, keep dropped ones (NULL from now on)
 *   freeze  keep the target as it is; new source columns are left out of the load (reported)
 *   fail    stop on any drift
 * Incompatible changes (a narrowed or changed type, a changed primary key) stop the pipeline with a
 * recovery hint, checkpoint unmoved. Every change is logged and recorded in the state store.
 * Each ALTER commits on its own: DuckDB 1.5 mis-checks keys when ALTER and DELETE+INSERT share a transaction.
 * Repeatable: every change is conditional on the target's current shape.
 */
import type { ColumnMapping } from '../schema/column.js';
import { quoteIdent } from '../sql/identifier.js';
import { createCurrentView, createTarget, describeTarget, targetRef, type TargetColumn } from '../duckdb/target-table.js';
import type { LakeSession } from '../duckdb/lake.js';
import type { BatchState, Stage, StageContext } from './stage.js';

export class SchemaDriftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaDriftError';
  }
}

const canonicalCache = new Map<string, string>();

/** DuckDB's own spelling of a type (`TIMESTAMPTZ` → `TIMESTAMP WITH TIME ZONE`), asked of DuckDB itself. */
async function canonicalType(session: LakeSession, type: string): Promise<string> {
  let out = canonicalCache.get(type);
  if (!out) {
    const rows = await session.all(`SELECT typeof(CAST(NULL AS ${type})) AS t`);
    out = String(rows[0].t);
    canonicalCache.set(type, out);
  }
  return out;
}

const INT_RANK: Record<string, number> = { TINYINT: 1, SMALLINT: 2, INTEGER: 3, BIGINT: 4, HUGEINT: 5 };

/** Can a column of type `from` be altered to `to` without losing or changing any value? */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return true;
  if (INT_RANK[from] && INT_RANK[to]) return INT_RANK[to] > INT_RANK[from];
  if (from === 'FLOAT' && to === 'DOUBLE') return true;
  const dec = /^DECIMAL\((\d+),(\d+)\)$/;
  const f = dec.exec(from);
  const t = dec.exec(to);
  if (f && t) {
    const [fp, fs, tp, ts] = [f[1], f[2], t[1], t[2]].map(Number);
    return ts >= fs && tp - ts >= fp - fs;
  }
  if (INT_RANK[from] && t) return Number(t[1]) - Number(t[2]) >= [0, 3, 5, 10, 19, 39][INT_RANK[from]];
  return false;
}

export const driftCheckStage: Stage = {
  name: 'drift-check',
  describe() {
    return { compares: 'source columns (by attnum) with the DuckDB table before each batch', policy: 'schema_evolution' };
  },
  async run(ctx: StageContext, batch: BatchState) {
    const { spec, lake, store, log } = ctx;
    const table = spec.target.table;
    const record = (kind: string, detail: string) => {
      store.addSchemaEvent(spec.name, kind, detail);
      log.warn({ pipeline: spec.name, drift: kind }, detail);
    };
    const snapshot = () =>
      store.saveSourceColumns(
        spec.name,
        batch.sourceColumns.map((c) => ({ attnum: c.attnum, name: c.name, pgType: c.declaredType })),
      );

    let target = await describeTarget(lake, table);
    if (!target) {
      await createTarget(lake, table, batch.columns.map((c) => ({ name: c.name, type: c.duckType })), spec.source.primaryKey);
      if (spec.source.softDelete) await createCurrentView(lake, table, spec.source.softDelete);
      snapshot();
      batch.loadColumns = batch.columns;
      return;
    }

    const previous = store.sourceColumns(spec.name);
    const has = (cols: TargetColumn[], name: string) => cols.some((c) => c.name === name);
    const fail = (what: string) => {
      throw new SchemaDriftError(
        `${what}. The DuckDB table ${table} was left unchanged and the checkpoint did not move. ` +
          `To rebuild the target from the source: pgduck reset ${spec.name} --drop-target`,
      );
    };

    // Renames first: same attnum, new name.
    for (const col of batch.sourceColumns) {
      const before = previous.find((p) => p.attnum === col.attnum);
      if (!before || before.name === col.name || !has(target, before.name) || has(target, col.name)) continue;
      if (spec.schemaEvolution !== 'evolve') {
        if (spec.schemaEvolution === 'fail') fail(`source column "${before.name}" was renamed to "${col.name}" (schema_evolution: fail)`);
        continue;
      }
      if (spec.source.primaryKey.includes(col.name)) fail(`primary-key column "${before.name}" was renamed to "${col.name}"`);
      await lake.run(`ALTER TABLE ${targetRef(lake, table)} RENAME COLUMN ${quoteIdent(before.name)} TO ${quoteIdent(col.name)}`);
      record('renamed', `column "${before.name}" renamed to "${col.name}" in ${table}`);
    }
    target = (await describeTarget(lake, table)) ?? target;

    const load: ColumnMapping[] = [];
    for (const col of batch.columns) {
      const existing = target.find((t) => t.name === col.name);
      if (!existing) {
        if (spec.schemaEvolution === 'fail') fail(`new source column "${col.name}" (${col.pgType}) (schema_evolution: fail)`);
        if (spec.schemaEvolution === 'freeze') {
          if (!previous.some((p) => p.name === col.name)) record('ignored', `new source column "${col.name}" (${col.pgType}) not added to ${table} (schema_evolution: freeze)`);
          continue;
        }
        await lake.run(`ALTER TABLE ${targetRef(lake, table)} ADD COLUMN ${quoteIdent(col.name)} ${col.duckType}`);
        record('added', `column "${col.name}" ${col.duckType} added to ${table} (source type ${col.pgType})`);
        load.push(col);
        continue;
      }
      const want = await canonicalType(lake, col.duckType);
      const have = await canonicalType(lake, existing.type);
      if (want !== have) {
        if (spec.schemaEvolution !== 'evolve' || !isWidening(have, want) || spec.source.primaryKey.includes(col.name)) {
          if (spec.schemaEvolution === 'freeze' && isWidening(want, have)) {
            load.push(col); // the target is already wide enough
            continue;
          }
          fail(`column "${col.name}" changed type: source is now ${col.pgType} (DuckDB ${want}), target has ${have}`);
        }
        await lake.run(`ALTER TABLE ${targetRef(lake, table)} ALTER COLUMN ${quoteIdent(col.name)} SET DATA TYPE ${want}`);
        record('widened', `column "${col.name}" widened from ${have} to ${want} in ${table}`);
      }
      load.push(col);
    }

    for (const t of target) {
      if (batch.columns.some((c) => c.name === t.name)) continue;
      // Reported once: the snapshot still listed it last time.
      const newlyDropped = previous.some((p) => p.name === t.name);
      if (!newlyDropped) continue;
      if (spec.schemaEvolution === 'fail') fail(`source column "${t.name}" was dropped (schema_evolution: fail)`);
      record('dropped', `source column "${t.name}" was dropped: kept in ${table}, NULL for rows written from now on`);
    }
    snapshot();
    batch.loadColumns = load;
  },
};
