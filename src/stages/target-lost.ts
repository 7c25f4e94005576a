/**
 * The checkpoint says rows were loaded, but not into the table this run writes: the target table is
 * missing (the DuckDB file deleted or replaced, the table dropped by hand), or the pipeline now names
 * another table or file than the one its checkpoint was written for (target.table renamed, DUCKDB_PATH
 * pointing elsewhere). Continuing from the checkpoint would load only the rows changed after it: every
 * older row would be missing from the table while each run reported success (found by review).
 *
 * So the run starts over as a bootstrap, as `pgduck reset <name>` would make it: the checkpoint gets a
 * new generation, the table is created (or upserted over, when it exists), and nothing is deleted (an
 * old table stays as it was). runPipeline (src/runner/run-pipeline.ts) catches this error, resets the
 * checkpoint, records a schema event, warns, and runs again, once.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { Checkpoint } from '../state/checkpoint-store.js';
import { describeTargetIdentity } from '../duckdb/target-identity.js';
import { targetLabel } from '../duckdb/target-table.js';
import { causeChain, PgduckError } from '../errors/pgduck-error.js';
import { qualified } from '../sql/identifier.js';

/** Rows of this generation were loaded (or its bootstrap finished): a target without them lacks rows. */
export function checkpointHasProgress(checkpoint: Checkpoint | null): boolean {
  return checkpoint !== null && (checkpoint.position !== null || checkpoint.rowsTotal > 0 || checkpoint.bootstrapDone);
}

export class TargetLostError extends PgduckError {
  constructor(
    readonly pipeline: string,
    /** What happened, for the schema event and the warning: "DuckDB table … does not exist". */
    readonly what: string,
  ) {
    super(`${what}: the checkpoint's rows are not there; the pipeline bootstraps again into it`, {
      // Not meant to escape runPipeline, which starts the run over; if it does, running again does it.
      kind: 'transient',
      code: 'TARGET_LOST',
    });
  }
}

/** The target table is missing though the checkpoint has loaded rows (the drift check found no table). */
export function targetMissing(spec: Pick<PipelineSpec, 'name' | 'target'>, duckdbPath: string): TargetLostError {
  return new TargetLostError(spec.name, `DuckDB table ${targetLabel(spec.target)} does not exist in ${duckdbPath} (the file or the table was removed)`);
}

/**
 * The DuckDB file records fewer of this pipeline's batches than its checkpoint (src/duckdb/target-progress.ts):
 * put back to an older copy, or replaced by another file holding the table. Continuing would never load
 * what it lacks (found by review: a restored warehouse missed a day of rows for good).
 */
export function targetBehind(spec: Pick<PipelineSpec, 'name' | 'target'>, duckdbPath: string, held: number | null, expected: number): TargetLostError {
  return new TargetLostError(
    spec.name,
    `DuckDB table ${targetLabel(spec.target)} in ${duckdbPath} holds ${held === null ? 'no record of the batches' : `batches up to ${held}`} of this pipeline, ` +
      `its checkpoint ${expected} (the file was put back to an older copy, or replaced)`,
  );
}

/** The pipeline names another target than the one its checkpoint was written for. */
export function targetChanged(spec: Pick<PipelineSpec, 'name'>, was: string, now: string): TargetLostError {
  return new TargetLostError(
    spec.name,
    `the pipeline's DuckDB table is now ${describeTargetIdentity(now)}, its checkpoint was written for ${describeTargetIdentity(was)}`,
  );
}

/** The TargetLostError a run failed with, if that is what it failed with (its cause chain is searched). */
export function findTargetLost(error: unknown): TargetLostError | null {
  return (causeChain(error).find((e) => e instanceof TargetLostError) as TargetLostError | undefined) ?? null;
}

/** How a table made before pgduck recorded the whole source named it (its comment): `schema.table`, unquoted. */
export function sourceLabel(spec: Pick<PipelineSpec, 'source'>): string {
  return `${spec.source.schema}.${spec.source.table}`;
}

/** Where a source lives beyond its name, when known (the source guard's identity, state store). */
export interface SourcePlace {
  systemId: string | null;
  database: string;
  /** The source table's oid: a table renamed keeps it. */
  tableOid?: string;
}

interface SourceRecord {
  schema: string;
  table: string;
  database?: string;
  cluster?: string;
  /** The source table's oid when the record was written (absent in records written before). */
  oid?: string;
}

/**
 * What a target table records of the source its rows come from (its comment, createTarget /
 * claimTarget): JSON of the schema and table as Postgres names them, and the database and cluster
 * when known. Not `schema.table`: two databases' `public.orders`, or `"a.b".c` and `a."b.c"`, read
 * the same so, and two pipelines that swapped their targets mixed their rows (found by review).
 */
export function sourceRecord(spec: Pick<PipelineSpec, 'source'>, place: SourcePlace | null): string {
  const record: SourceRecord = {
    schema: spec.source.schema,
    table: spec.source.table,
    ...(place ? { database: place.database } : {}),
    ...(place?.systemId ? { cluster: place.systemId } : {}),
    ...(place?.tableOid ? { oid: place.tableOid } : {}),
  };
  return JSON.stringify(record);
}

/**
 * Whether a recorded source (sourceRecord, or the older `schema.table`) is this pipeline's: the same
 * schema and table, and the same database and cluster where both sides know them. `complete`: it
 * records all this run knows (no need to record it again). `loaded`: the pipeline synced rows into
 * the table already; then a record of the same table oid is this source renamed (ALTER TABLE …
 * RENAME and the pipeline file following it: found by review, refused on every run otherwise), to
 * be recorded again under its new name. A bootstrap goes by name: a table re-created has a new oid.
 */
export function recordedSourceIs(
  recorded: string,
  spec: Pick<PipelineSpec, 'source'>,
  place: SourcePlace | null,
  loaded = false,
): { same: boolean; complete: boolean } {
  if (!recorded.startsWith('{')) return { same: recorded === sourceLabel(spec), complete: false };
  const r = parseRecord(recorded);
  if (r === null) return { same: false, complete: false };
  const samePlace =
    (r.database === undefined || place === null || r.database === place.database) &&
    (r.cluster === undefined || !place?.systemId || r.cluster === place.systemId);
  const renamed = loaded && r.oid !== undefined && place?.tableOid !== undefined && r.oid === place.tableOid;
  return { same: samePlace && (sameName(r, spec) || renamed), complete: recorded === sourceRecord(spec, place) };
}

/**
 * Whether a target table holds the rows of the source table identified as `was` (before it was
 * re-created): its record's oid where it has one, else its recorded name. on_recreate: rebootstrap
 * drops only such a table (found by review: two pipeline files swapped names, and the other
 * pipeline's table, with rows only DuckDB kept, was dropped).
 */
export function recordedFromTable(recorded: string | null, spec: Pick<PipelineSpec, 'source'>, wasOid: string): boolean {
  if (recorded === null) return false;
  if (!recorded.startsWith('{')) return recorded === sourceLabel(spec);
  const r = parseRecord(recorded);
  if (r === null) return false;
  return r.oid !== undefined ? r.oid === wasOid : sameName(r, spec);
}

/**
 * A recorded source as people read it: `public.orders` (quoted where a part holds a dot or a quote), with
 * its database when that is what tells it from this pipeline's source (the older label as it is).
 */
export function describeRecordedSource(recorded: string, spec?: Pick<PipelineSpec, 'source'>): string {
  const r = recorded.startsWith('{') ? parseRecord(recorded) : null;
  if (r === null) return recorded;
  const plain = (p: string) => (/[."]/.test(p) ? qualified(p) : p);
  return `${plain(r.schema)}.${plain(r.table)}${sameName(r, spec) && r.database !== undefined ? ` in database ${r.database}` : ''}`;
}

function parseRecord(recorded: string): SourceRecord | null {
  try {
    return JSON.parse(recorded) as SourceRecord;
  } catch {
    return null;
  }
}

/** The record names this pipeline's schema and table (what tells them apart is then the database). */
function sameName(r: SourceRecord, spec: Pick<PipelineSpec, 'source'> | undefined): boolean {
  return spec !== undefined && r.schema === spec.source.schema && r.table === spec.source.table;
}

/**
 * A bootstrap from the beginning found its target table made for another source: its rows would stay
 * beside this source's, mixed. Refused before anything is written; the table is left as it is.
 */
export function targetTaken(spec: Pick<PipelineSpec, 'name' | 'file' | 'source' | 'target'>, owner: string, loaded = false): PgduckError {
  const record = owner.startsWith('{') ? parseRecord(owner) : null;
  const other = record !== null && sameName(record, spec) && record.database !== undefined ? " in this pipeline's database" : '';
  // loaded: the pipeline had synced into a table of that name (renamed, swapped or copied in since).
  const doing = loaded ? 'syncing on into it' : 'bootstrapping into it';
  return new PgduckError(
    `DuckDB table ${targetLabel(spec.target)} holds rows synced from source ${describeRecordedSource(owner, spec)}, not from ${sourceLabel(spec)}${other}: ${doing} would ` +
      `mix the two tables' rows; nothing was written and the table is left as it is${loaded ? ' (the checkpoint did not move)' : ''}`,
    {
      kind: 'needs-action',
      code: 'TARGET_TAKEN',
      fix: `point target.table in ${spec.file} at a table of its own, or rebuild ${targetLabel(spec.target)} from ${sourceLabel(spec)}: pgduck reset ${spec.name} --drop-target`,
    },
  );
}
