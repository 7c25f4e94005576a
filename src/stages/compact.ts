/**
 * compact: once per run, copy the target onto itself without its deleted row slots when they reach
 * its rows. Every row an update or a delete replaces stays in DuckDB's storage as a deleted slot,
 * which DuckDB never reclaims in a table with an index and pgduck's settings stop it reclaiming in
 * the others (docs/architecture.md, "Facts: DuckDB"): without this step a table updated for months
 * grows without bound, and every scan of it with it (the upsert's DELETE, people's queries).
 *
 * It acts at the first batch of a run that opens the DuckDB file (an idle run opens none), before the
 * batch's rows are applied, and only when it is due (compactionDue): the table's row slots come with
 * the drift check's catalog read of it, the rows from the last run's count in the state store, and
 * only when those say it may be due is the table counted. The copy is one DuckDB transaction
 * (rebuildTarget): a crash leaves the table as it was; nothing of the checkpoint or the history
 * depends on where a row is stored. A table people added an index, a constraint or a default to is
 * never copied (the copy would not carry them): the process says so once and goes on. A copy that
 * fails (its transaction rolled back) does not fail the run either: syncing does not need it.
 */
import { compactionDue, compactTarget, DUCKDB_ROW_GROUP_ROWS, handMadeParts, keyOf, sibling, targetLabel, targetRef } from '../duckdb/target-table.js';
import { catalogNameOf } from '../duckdb/catalog-name.js';
import { quoteIdent } from '../sql/identifier.js';
import { batchTransaction } from './batch-transaction.js';
import type { BatchState, Stage, StageContext } from './stage.js';

/** Pipelines whose table was found not compactable: said once per process (a service would say it every run). */
const notCompactedSaid = new Set<string>();

export const compactStage: Stage = {
  name: 'compact',
  reads: ['targetUnchanged'],
  writes: [],
  postgres: false,
  describe(spec, inputs) {
    const catalog = { catalog: quoteIdent(catalogNameOf(inputs.duckdbPath)) };
    const table = targetRef(catalog, spec.target);
    const copy = targetRef(catalog, sibling(spec.target, `${spec.target.table}__pgduck_rebuild`));
    return {
      when: 'once per run, at its first batch that opens the DuckDB file, when the table holds at least as many deleted row slots (each update and delete leaves one) as rows, and at least a row group of them (122,880)',
      does: `copies ${targetLabel(spec.target)} onto itself in one transaction (a new table with the same columns, key and comments, the rows copied, the old table dropped, the copy renamed), so the file stops growing with every update`,
      sql: {
        due: `SELECT count(*) FROM ${table} (when the table's estimated_size in duckdb_tables() and the last run's count say it may be due)`,
        copy: [
          'BEGIN TRANSACTION',
          `CREATE TABLE ${copy} (<the table's columns and key>)`,
          `INSERT INTO ${copy} SELECT * FROM ${table}`,
          `DROP TABLE ${table}`,
          `ALTER TABLE ${copy} RENAME TO ${quoteIdent(spec.target.table)}`,
          `COMMENT ON TABLE ${table} IS <its comment, as it was>`,
          'COMMIT',
        ].join(';\n'),
      },
    };
  },
  async run(ctx: StageContext, batch: BatchState) {
    const { spec, lake, memory, store, log } = ctx;
    if (memory.compactChecked || batch.targetUnchanged) return;
    memory.compactChecked = true;
    // Read by the drift check just before (its catalog read of the table); absent: no table yet.
    const shape = memory.target;
    if (shape === null) return;
    const minDeleted = ctx.compactMinDeleted ?? DUCKDB_ROW_GROUP_ROWS;
    if (shape.rowSlots < minDeleted) return;
    const counted = store.get(spec.name)?.targetRows ?? null;
    // The last run's count says it is not due: no query. Else count now (a count is exact, the stored one may be old).
    if (counted !== null && !compactionDue(shape.rowSlots, counted, minDeleted)) return;
    const ref = targetRef(lake, spec.target);
    const rows = Number((await lake.all(`SELECT count(*)::BIGINT AS n FROM ${ref}`))[0]?.n ?? 0);
    if (!compactionDue(shape.rowSlots, rows, minDeleted)) return;
    const key = shape.primaryKey ?? keyOf(spec);
    const kept = await handMadeParts(lake, spec.target, key);
    if (kept.length > 0) {
      if (notCompactedSaid.has(spec.name)) return;
      notCompactedSaid.add(spec.name);
      log.warn(
        { pipeline: spec.name },
        `${targetLabel(spec.target)} holds ${shape.rowSlots - rows} deleted row slots beside its ${rows} rows, but is not compacted: it has ${kept.join(', ')}, ` +
          'which a copy would not carry over (pgduck makes none of them). Drop them to let pgduck compact the table, or rebuild it: pgduck reset ' +
          `${spec.name} --drop-target`,
      );
      return;
    }
    // Nothing of this run is applied yet (the first batch that opened the file), but the copy must not share a transaction.
    await batchTransaction(ctx).commit();
    const started = Date.now();
    try {
      await compactTarget(lake, spec.target, key);
    } catch (err) {
      // Its transaction rolled back: the table is as it was, and syncing needs no compaction (a full
      // disk or a low memory_limit fails the copy first: the run's own writes then fail on their own).
      if (!notCompactedSaid.has(spec.name)) {
        notCompactedSaid.add(spec.name);
        log.warn(
          { pipeline: spec.name, err: (err as Error).message },
          `compacting ${targetLabel(spec.target)} (${rows} rows, ${shape.rowSlots - rows} deleted row slots) failed: ${(err as Error).message}. ` +
            'The table is as it was and the run goes on; the next run tries again (said once per process).',
        );
      }
      return;
    }
    memory.target = { ...shape, rowSlots: rows };
    log.info(
      { pipeline: spec.name, rows, freedSlots: shape.rowSlots - rows, ms: Date.now() - started },
      `compacted ${targetLabel(spec.target)}: ${rows} rows copied, ${shape.rowSlots - rows} deleted row slots freed`,
    );
  },
};
