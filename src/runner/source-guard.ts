/**
 * The checks every run of a pipeline makes before it reads a row, each stopping a sync that would
 * otherwise silently lose or mix rows:
 *
 * - the live rules judge-source.ts marks `blocksRun` (a key no unique index covers, two columns one
 *   DuckDB name), with the very words `validate --connect` prints;
 * - the source's identity (source-identity.ts) against the one recorded at the last run: another
 *   cluster, database or table (re-created, restored), or a cluster that went back in time (another
 *   timeline: a failover to a standby that was behind, a point-in-time restore; or a WAL position
 *   behind the last run's), is refused (SourceChangedError), except a table re-created when the
 *   pipeline says `on_recreate: rebootstrap`: then the caller rebuilds the target from it (the guard
 *   says so; it writes nothing itself);
 * - the table's relfilenode: when a rewrite moved it since the last run (an ALTER … TYPE that
 *   re-rounds values, or two that cancel out in the catalog), every existing row is re-read.
 *
 * A few catalog queries per run, not per batch.
 */
import { targetLabel } from '../duckdb/target-table.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { judgeSource } from '../live/judge-source.js';
import type { PgClient } from '../postgres/connect.js';
import { inspectSource } from '../postgres/inspect-source.js';
import { readSourceIdentity, sameLeavesOlderForm, typeTextChanges, wentBack, type SourceIdentity } from '../postgres/source-identity.js';
import { qualified } from '../sql/identifier.js';
import type { CheckpointStore } from '../state/checkpoint-store.js';
import type { Logger } from '../log/logger.js';
import { SourceChangedError, type SourceChange } from './source-changed-error.js';
import { isSelected } from '../schema/column-selection.js';
import { SourceRefusedError } from './source-refused-error.js';

/** The table was re-created and the pipeline asked for a rebuild: what changed, for the log and the schema event. */
export interface Rebootstrap {
  change: string;
  now: SourceIdentity;
  /** The identity the target's rows were synced from (the table before it was re-created). */
  was: SourceIdentity;
}

/** What the guard found: a rebuild the caller must make first, and the source's WAL position as it began (null on a standby). */
export interface Guarded {
  rebootstrap: Rebootstrap | null;
  walLsn: string | null;
}

/**
 * Throws SourceRefusedError or SourceChangedError (nothing written but the identity a pipeline
 * without one adopts); may record a backfill. A missing table is left to the extract (it says so itself).
 * Returns a Rebootstrap when the caller must rebuild the target before reading.
 */
export async function guardSource(spec: PipelineSpec, pg: PgClient, store: CheckpointStore, log: Logger): Promise<Guarded> {
  const { schema, table } = spec.source;
  const relation = await inspectSource(pg, schema, table);
  if (!relation) return { rebootstrap: null, walLsn: null };
  const role = String((await pg.query<{ role: string }>('SELECT current_user AS role')).rows[0].role);
  const blocking = judgeSource(spec, { relation, role }).filter((issue) => issue.blocksRun && issue.severity === 'error');
  if (blocking.length > 0) throw new SourceRefusedError(spec.name, blocking);

  const now = await readSourceIdentity(pg, schema, table);
  if (!now) return { rebootstrap: null, walLsn: null };
  const was = store.sourceIdentity(spec.name);
  // First run, after a reset, or a checkpoint written before identities were recorded: adopt this one.
  if (!was) {
    store.saveSourceIdentity(spec.name, now);
    return { rebootstrap: null, walLsn: now.walLsn };
  }
  const change = identityChange(was, now, qualified(schema, table));
  // A re-created table may be rebuilt by itself (on_recreate: rebootstrap); a cluster gone back in time
  // never is: every promotion counts, a lossless switchover too, and a rebuild would drop rows only
  // DuckDB keeps (hard_delete_mode: mark) at each one (found by review).
  if (change?.what === 'table' && spec.source.onRecreate === 'rebootstrap') return { rebootstrap: { change: change.message, now, was }, walLsn: now.walLsn };
  if (change) throw new SourceChangedError(spec.name, qualified(schema, table), targetLabel(spec.target), was, now, [change.message], change.what);
  const moved = was.relfilenode !== now.relfilenode && !sameLeavesOlderForm(was.relfilenode, now.relfilenode);
  const retyped = typeTextChanges(was.labels, now.labels);
  const relabeled = retyped.renamed;
  const changedText = relabeled.length > 0 || retyped.composites || retyped.generated || retyped.collations;
  if (!moved && !changedText) {
    // An identity recorded in an older form, or an enum label added: nothing to re-read. (The WAL
    // position, which moves on nearly every run, is recorded after a run that succeeded: pool.ts.)
    if (was.relfilenode !== now.relfilenode || was.labels !== now.labels || was.timeline !== now.timeline) {
      store.saveSourceIdentity(spec.name, now);
    }
    return { rebootstrap: null, walLsn: now.walLsn };
  }

  const checkpoint = store.get(spec.name);
  const loaded = checkpoint !== null && (checkpoint.rowsTotal > 0 || checkpoint.position !== null || checkpoint.bootstrapDone);
  if (!loaded || (was.relfilenode === null && !changedText)) {
    store.saveSourceIdentity(spec.name, now);
    return { rebootstrap: null, walLsn: now.walLsn };
  }
  // Which columns a rewrite changed cannot be known (the catalog may look as it did: numeric(5,2) →
  // numeric(6,1) → numeric(5,2) re-rounds every value), so every column but the key and the cursor
  // (which order and identify rows; a change of theirs is the drift check's) is re-read, by key ranges
  // (backfill.ts). VACUUM FULL, CLUSTER and TRUNCATE move the relfilenode too: the re-read is then
  // harmless but costs one pass over the table (nothing for a truncated one).
  const columns = relation.columns
    // Only the columns source.columns selects: an excluded one is never read (backfill.ts skips it too).
    .filter((c) => !spec.source.primaryKey.includes(c.name) && c.name !== spec.source.cursor && isSelected(spec.source, c.name))
    .map((c) => ({ attnum: c.attnum, name: c.name }));
  store.recordRewrite(spec.name, now, columns);
  if (changedText) {
    const renames = relabeled.map((r) => `${JSON.stringify(r.from)} → ${JSON.stringify(r.to)}`).join(', ');
    const what = [
      ...(relabeled.length > 0 ? [`an enum label was renamed (ALTER TYPE … RENAME VALUE: ${renames})`] : []),
      ...(retyped.composites ? ['a composite type it uses changed its fields (ALTER TYPE … RENAME/ADD/DROP/ALTER ATTRIBUTE)'] : []),
      ...(retyped.generated ? ['a virtual generated column was given a new expression (ALTER … SET EXPRESSION)'] : []),
      ...(retyped.collations ? ["a column's collation changed (ALTER … TYPE … COLLATE), and with it the order its keys are read in"] : []),
    ].join(' and ');
    log.warn(
      {
        pipeline: spec.name,
        renamedLabels: relabeled,
        compositesChanged: retyped.composites,
        generatedChanged: retyped.generated,
        collationsChanged: retyped.collations,
      },
      `${what} since the last run, which changes how ${qualified(schema, table)}'s rows read without a rewrite or a cursor move: its existing rows are re-read` +
        (moved ? ' (the table was rewritten too)' : '') +
        '; a row whose primary key held the old text stays under it until a reconcile removes it, as for any changed key',
    );
  } else {
    log.warn(
      { pipeline: spec.name, relfilenode: { was: was.relfilenode, now: now.relfilenode } },
      `${qualified(schema, table)} was rewritten since the last run (ALTER TABLE … TYPE, VACUUM FULL, CLUSTER or TRUNCATE): its existing rows are re-read`,
    );
  }
  return { rebootstrap: null, walLsn: now.walLsn };
}

function identityChange(was: SourceIdentity, now: SourceIdentity, table: string): { what: SourceChange; message: string } | null {
  if (was.systemId !== null && now.systemId !== null && was.systemId !== now.systemId) {
    return { what: 'cluster', message: `the connection now reaches another Postgres cluster (system_identifier ${now.systemId}, was ${was.systemId})` };
  }
  if (was.database !== now.database) return { what: 'database', message: `the connection now reaches database ${now.database} (was ${was.database})` };
  if (was.tableOid !== now.tableOid) {
    return { what: 'table', message: `${table} was dropped and re-created, or its database restored (table oid ${now.tableOid}, was ${was.tableOid})` };
  }
  // Found by review: a failover to a standby that had not replayed everything looked like the same
  // source, and the rows synced from the lost timeline stayed in DuckDB, every run ok.
  const back = wentBack(was, now);
  if (back) return { what: 'rewound', message: back };
  return null;
}
