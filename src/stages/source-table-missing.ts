/**
 * SOURCE_TABLE_MISSING, found and said in one place for every stage that reads the source: the
 * extract (its catalog read and its keyset query), the null-cursor sweep (part of the extract), the
 * drift check's catalog re-read and the backfill's reads. A table dropped while `pgduck run` runs —
 * between two ticks, between two batches, or between a catalog read and the query after it — is
 * then one needs-action failure naming the table, never a transient one retried in a loop (a
 * backfill would otherwise read "its types changed") nor a bare driver message.
 *
 * What it leaves: nothing read after the table went is applied, and the runner wraps this in a
 * StageError that says where the checkpoint stayed (it never moves on a failure); the DuckDB table
 * and the Parquet history keep what was synced before. The service blocks the pipeline
 * (src/runner/retry-policy.ts) and the others go on.
 */
import { PgduckError, causeChain } from '../errors/pgduck-error.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { isRelationMissing } from '../postgres/classify-postgres-error.js';
import { targetLabel } from '../duckdb/target-table.js';

type SourceOf = Pick<PipelineSpec, 'name' | 'file' | 'source' | 'target'>;

/** The error: the table, what was kept, and what to do. `cause`: the driver's error, when a query found it gone. */
export function sourceTableMissing(spec: SourceOf, cause?: unknown): PgduckError {
  const table = `${spec.source.schema}.${spec.source.table}`;
  return new PgduckError(
    `source table ${table} does not exist (dropped or renamed, or this role cannot see it): nothing more was read from it; ` +
      `DuckDB table ${targetLabel(spec.target)} and the Parquet history keep what was synced`,
    {
      kind: 'needs-action',
      code: 'SOURCE_TABLE_MISSING',
      fix:
        `restore ${table} or correct source.table in ${spec.file}; the next run resumes from the checkpoint (pgduck run: at once on SIGHUP, ` +
        `else at the blocked pipeline's probe). A re-created table is refused as a changed source unless on_recreate: rebootstrap. ` +
        `To stop syncing it, remove ${spec.file}: the DuckDB table and its history stay`,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** Was this failure Postgres saying the pipeline's source table does not exist? (Its cause chain is searched.) */
export function isSourceTableMissing(spec: SourceOf, error: unknown): boolean {
  return causeChain(error).some((e) => isRelationMissing(e, spec.source.schema, spec.source.table));
}

/** A read of the source: its 42P01 on the source table becomes sourceTableMissing; any other failure passes unchanged. */
export async function readingSource<T>(spec: SourceOf, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw isSourceTableMissing(spec, err) ? sourceTableMissing(spec, err) : err;
  }
}
