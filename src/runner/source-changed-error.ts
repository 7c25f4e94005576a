import type { SourceIdentity } from '../postgres/source-identity.js';
import { PgduckError } from '../errors/pgduck-error.js';

/** What changed: the cluster, the database, the table (re-created or restored), or the cluster went back in time. */
export type SourceChange = 'cluster' | 'database' | 'table' | 'rewound';

/**
 * The source a pipeline reads is not the one its DuckDB table was synced from: another cluster,
 * another database, or the table dropped and re-created (or restored), or the cluster went back in
 * time (a failover to a standby that was behind, a restore: SOURCE_REWOUND). Syncing on would mix two
 * sources' rows in one table (and keep rows the new source never had), so the run stops before
 * reading; nothing is written and the checkpoint does not move. A "needs-action" error: it repeats
 * on every run until someone rebuilds the table (`fix`) or points the pipeline back.
 */
export class SourceChangedError extends PgduckError {
  readonly pipeline: string;
  readonly was: SourceIdentity;
  readonly now: SourceIdentity;
  /** What changed, one phrase each. */
  readonly changes: readonly string[];

  constructor(
    pipeline: string,
    table: string,
    target: string,
    was: SourceIdentity,
    now: SourceIdentity,
    changes: readonly string[],
    what: SourceChange = 'table',
  ) {
    const fix = `pgduck reset ${pipeline} --drop-target`;
    const rewound = what === 'rewound';
    super(
      `the source of ${pipeline} changed since it was last synced: ${changes.join('; ')} ` +
        `(was ${describe(was, table)}; now ${describe(now, table)}). ` +
        (rewound
          ? `Syncing on would keep, in the DuckDB table ${target}, rows and versions the source no longer has (and an integer cursor's sequence may hand out values below the checkpoint): `
          : `Syncing on would mix two sources' rows in the DuckDB table ${target}: `) +
        `nothing was read or written and the checkpoint did not move. If the new source is the right one, rebuild the table from it: ${fix}` +
        (rewound
          ? '; if DATABASE_URL (or source.connection) reaches a stale copy by mistake, point it back'
          : '; otherwise point DATABASE_URL (or source.connection) back at the old one'),
      { kind: 'needs-action', code: rewound ? 'SOURCE_REWOUND' : 'SOURCE_CHANGED', fix },
    );
    this.name = 'SourceChangedError';
    this.pipeline = pipeline;
    this.was = was;
    this.now = now;
    this.changes = changes;
  }
}

function describe(id: SourceIdentity, table: string): string {
  const place = [id.timeline === null ? '' : `, timeline ${id.timeline}`, id.walLsn === null ? '' : ` at ${id.walLsn}`].join('');
  return `cluster ${id.systemId ?? 'unknown'}${place}, database ${id.database}, table ${table} oid ${id.tableOid}`;
}
