/**
 * The one source of truth for a pipeline file. The JSON Schema in schema/pipeline.schema.json is
 * generated from this (npm run schema) and a test fails when the checked-in copy is stale; the
 * TypeScript type `PipelineFile` is derived from it with `Static`, so neither can drift.
 *
 * At run time pgduck validates against the generated file (pipeline-file-schema.ts), not this module:
 * loading TypeBox's ~270 modules cost ~250 ms of every `pgduck validate` (measured), and the file is
 * what editors check against anyway. Import this module only for types, the generator and tests.
 *
 * What a JSON Schema cannot say (cron syntax, time zones, names unique across files, one writer per
 * target table, soft_delete ≠ cursor) is checked in semantic-checks.ts and check-pipeline-set.ts.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Postgres truncates identifiers to 63 bytes (NAMEDATALEN - 1); a longer name would silently mean another column. */
const Identifier = (description: string, options: { default?: string } = {}) => Type.String({ minLength: 1, maxLength: 63, description, ...options });

export const SourceSchema = Type.Object(
  {
    schema: Type.Optional(
      Type.String({
        minLength: 1,
        default: 'public',
        description: 'Postgres schema of the table. When `table` is schema-qualified, leave this out or give the same schema. Default: `public`.',
      }),
    ),
    table: Type.String({
      minLength: 1,
      description:
        'Source table: `table` or `schema.table` (`public.subscriptions`). Names are used verbatim and quoted on use, so any name works; ' +
        'double-quote a part that contains a dot: `"my.schema"."my.table"`. Required.',
    }),
    primary_key: Type.Union([Identifier('A single primary-key column.'), Type.Array(Identifier('A primary-key column.'), { minItems: 1, uniqueItems: true })], {
      description: 'Primary-key column, or a list of columns for a composite key. Must be NOT NULL and unique in the source. Required.',
    }),
    cursor: Type.Optional(
      Identifier(
        'Column that grows on every change (timestamptz/timestamp, or an integer version). Rows are read in (cursor, key) order. May be a primary-key column. Default: `updated_at`.',
        { default: 'updated_at' },
      ),
    ),
    soft_delete: Type.Optional(
      Identifier(
        'Tombstone column (e.g. `deleted_at`). Synced like any column; a `<target>_current` view hides tombstoned rows. Must differ from `cursor`. ' +
          'Default: none (rows are only ever updated, never tombstoned).',
      ),
    ),
    soft_delete_mode: Type.Optional(
      Type.Unsafe<'keep' | 'remove'>({
        type: 'string',
        enum: ['keep', 'remove'],
        default: 'keep',
        description:
          'Only with `soft_delete`. keep: a tombstoned row stays in the DuckDB table with its tombstone (the `<target>_current` view hides it). ' +
          'remove: a tombstoned row is removed from the DuckDB table. Either way a row whose tombstone goes back to NULL is back. Default: `keep`.',
      }),
    ),
    null_cursor: Type.Optional(
      Type.Unsafe<'include' | 'fail'>({
        type: 'string',
        enum: ['include', 'fail'],
        default: 'include',
        description:
          'Rows whose cursor is NULL (a nullable `updated_at` on legacy rows): the keyset never sees them. include: every run also reads them by primary key ' +
          '(a sweep of their own; an unchanged sweep writes nothing; with no such row it costs one index probe). fail: stop the pipeline when one exists. Default: `include`.',
      }),
    ),
    on_recreate: Type.Optional(
      Type.Unsafe<'stop' | 'rebootstrap'>({
        type: 'string',
        enum: ['stop', 'rebootstrap'],
        default: 'stop',
        description:
          'The source table dropped and re-created under the same name (its oid changed; same cluster and database). stop: refuse to sync until ' +
          '`pgduck reset <name> --drop-target` (its rows and the old ones would mix). rebootstrap: drop the DuckDB table and bootstrap it from the new ' +
          "table, logged and recorded as a schema event (the Parquet history is kept); a DuckDB table that holds another source table's rows (a pipeline file " +
          'renamed) is bootstrapped over, not dropped. Another cluster or database, and a cluster gone back in time (SOURCE_REWOUND), are always refused. Default: `stop`.',
      }),
    ),
    hard_delete_mode: Type.Optional(
      Type.Unsafe<'remove' | 'mark'>({
        type: 'string',
        enum: ['remove', 'mark'],
        default: 'remove',
        description:
          'What reconcile (`pgduck reconcile`, `verify --repair`, a `reconcile:` schedule) does with a row hard-deleted (or truncated) in the source. ' +
          'remove: the row is removed from the DuckDB table. mark: the row stays, with the time reconcile found it gone in a `_pgduck_deleted_at` ' +
          'column (the `<target>_current` view hides it; `verify` does not compare it); a row back in the source is unmarked by the next upsert. Default: `remove`.',
      }),
    ),
    cursor_timezone: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Only for a `timestamp without time zone` cursor: the IANA time zone whose wall-clock times the writers store in it ' +
          "(their sessions' TimeZone when the column is set by now(), e.g. `UTC` or `America/New_York`). Makes the commit-safe horizon exact. " +
          'Default: none: the zone is unknown, so the checkpoint is held 14 h behind the horizon (safe for any zone) and pgduck warns.',
      }),
    ),
    columns: Type.Optional(
      Type.Object(
        {
          include: Type.Optional(
            Type.Array(Identifier('A column to sync.'), {
              minItems: 1,
              uniqueItems: true,
              description:
                'Sync only these columns. Must list the primary key, the cursor and the soft_delete column. A column added to the source later is not synced. ' +
                'Cannot be shared in `_defaults.yml`. Default: none (every column).',
            }),
          ),
          exclude: Type.Optional(
            Type.Array(Identifier('A column never to read.'), {
              uniqueItems: true,
              description:
                'Sync every column but these (a password hash, a tsvector): they are never read from Postgres, never written to Parquet or DuckDB. ' +
                'Cannot name the primary key, the cursor or the soft_delete column. May be shared in `_defaults.yml` (a list written in a pipeline file replaces the shared one). ' +
                'Default: none.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Which columns to sync: `include: [..]` (only these) or `exclude: [..]` (all but these), not both. ' +
            'Default: every column of the table (README, "Columns").',
        },
      ),
    ),
    connection: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Connection string for this pipeline only. Use `${ENV_VAR}` so secrets stay out of the file. ' +
          'Default: the DATABASE_URL environment variable (or POSTGRES_HOST/PORT/USER/PASSWORD/DB).',
      }),
    ),
  },
  { additionalProperties: false, description: 'Where the rows come from. Required.' },
);

export const TargetSchema = Type.Object(
  {
    schema: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'DuckDB schema of the table, created if missing (the `_current` view lives there too). When `table` is schema-qualified, ' +
          'leave this out or give the same schema. Default: `main`.',
      }),
    ),
    table: Type.String({
      minLength: 1,
      description:
        'DuckDB table to keep in sync (created on the first run): `table` or `schema.table`, quoted like source.table. ' +
        'One pipeline per table and DuckDB file. Required.',
    }),
    duckdb_path: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'DuckDB file for this pipeline. Default: the DUCKDB_PATH environment variable, else `lake/warehouse.duckdb`.',
      }),
    ),
    key_index: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          'Declare the primary key as a PRIMARY KEY on the DuckDB table (true), which DuckDB keeps as an index of every key; or record the key ' +
          'in column comments and keep no index (false): faster bootstraps and incremental runs that do not load and rewrite an index the ' +
          'size of the table, uniqueness then kept by the upsert alone (the source key is unique) and checked by `pgduck verify`. ' +
          'A change converts the table on the next run (one copy). Default: true.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Where the rows go. Required.' },
);

export const HorizonSchema = Type.Object(
  {
    margin_ms: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3_600_000,
        default: 1000,
        description: 'Safety margin subtracted from the commit-safe horizon, in milliseconds (0 to 3600000). Default: 1000.',
      }),
    ),
    lookback_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86_400 * 7,
        default: 300,
        description:
          'Used when open transactions cannot be seen (a role without pg_read_all_stats, a hot standby, pending prepared transactions): the checkpoint then stays at least this far behind now(), so every run re-reads the last window of changes, in seconds (0 to 604800). Default: 300.',
      }),
    ),
  },
  // default {} lets ajv's useDefaults fill margin_ms and lookback_seconds when `horizon` is left out.
  { additionalProperties: false, default: {}, description: 'Commit-safe horizon settings (see README, "Guarantees"). Default: every field at its default.' },
);

/** Spellings of `history.keep` (src/history/keep-policy.ts parses them; KEEP_MAX there is the 100000 here). */
export const HistorySchema = Type.Object(
  {
    keep: Type.Optional(
      Type.Union(
        [
          Type.Integer({ minimum: 1, maximum: 100_000, description: 'Keep the N newest complete passes over the source (1 to 100000).' }),
          Type.String({
            pattern: '^(all|[1-9][0-9]{0,4}d?)$',
            description: '`all`, or `<n>d`: keep the files written in the last n days (1d to 99999d); a number in quotes (from ${VAR}) counts passes.',
          }),
        ],
        {
          default: 'all',
          description:
            'How much Parquet history `pgduck history prune` keeps (it never runs on its own): `all`; a number N: the N newest complete passes over ' +
            'the source (a first run or a run after `reset`, once it reached the end of the table) and every file after the oldest of them; `<n>d` ' +
            '(e.g. `30d`): every file written in the last n days and the complete pass they build on. Whatever it says, what `pgduck replay` needs to ' +
            'rebuild the table is kept. Default: `all`.',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'Parquet history retention (see README, "History retention"). Default: keep everything.' },
);

/** How the bootstrap reads (src/stages/parallel-bootstrap.ts); 16 at most: each range is a Postgres connection (and a backend) of its own. */
export const BootstrapSchema = Type.Object(
  {
    parallel: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 16,
        default: 1,
        description:
          'Read the bootstrap as this many contiguous ranges of (cursor, primary key) order, each a COPY on a Postgres connection of its own, ' +
          'all in one exported snapshot (pg_export_snapshot): the same batches, the same history and checkpoints as one stream, while the later ' +
          'ranges read ahead (at most 2 batch files each). For tables on a server with spare cores; 1 to 16. Default: `1` (one stream).',
      }),
    ),
  },
  { additionalProperties: false, description: 'How the bootstrap reads the table (see README, "Parallel bootstrap"). Default: one stream.' },
);

export const SchemaEvolutionSchema = Type.Unsafe<'evolve' | 'freeze' | 'fail'>({
  type: 'string',
  enum: ['evolve', 'freeze', 'fail'],
  default: 'evolve',
  description:
    'What to do when the source columns change. evolve: add/widen/rename columns in DuckDB; freeze: keep the target schema, ignore new columns; ' +
    'fail: stop on any drift. Default: `evolve`.',
});

export const ReconcileSchema = Type.Object(
  {
    schedule: Type.String({
      minLength: 1,
      description:
        'Cron expression of the reconcile: 5 fields, or 6 with seconds first (`0 */10 * * * *` = every 10 min). ' +
        "Each tick removes from DuckDB the rows hard-deleted (or truncated) in Postgres, as `pgduck reconcile` does; never at the same time as this pipeline's sync. Required.",
    }),
    timezone: Type.Optional(
      Type.String({ minLength: 1, description: "IANA time zone the reconcile schedule is read in. Default: the pipeline's `timezone`." }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Hard-delete reconciliation on a schedule of its own, run by `pgduck run` (see README, "Hard deletes"). Default: none (only `pgduck reconcile` on demand).',
  },
);

export const PipelineFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Editor hint (prefer the `# yaml-language-server: $schema=` comment); ignored. Default: none.' })),
    source: SourceSchema,
    target: TargetSchema,
    batch_size: Type.Optional(
      // parquet-wasm memory only grows: batches above ~200k rows make the process balloon (docs/architecture.md#facts-parquet-and-arrow).
      Type.Integer({
        minimum: 1,
        maximum: 200_000,
        default: 10_000,
        description: 'Rows per batch (one Parquet file, one DuckDB transaction), 1 to 200000. Default: 10000.',
      }),
    ),
    bootstrap: Type.Optional(BootstrapSchema),
    schedule: Type.Optional(
      Type.String({
        minLength: 1,
        default: '*/30 * * * * *',
        description:
          'Cron expression: 5 fields, or 6 with seconds first (`*/30 * * * * *` = every 30 s). Read in `timezone`, exact across DST. ' +
          'Default: `*/30 * * * * *`.',
      }),
    ),
    timezone: Type.Optional(
      Type.String({ minLength: 1, default: 'UTC', description: 'IANA time zone the schedule is read in (e.g. Europe/Berlin). Default: `UTC`.' }),
    ),
    enabled: Type.Optional(Type.Boolean({ default: true, description: 'A disabled pipeline is validated but never run. Default: true.' })),
    schema_evolution: Type.Optional(SchemaEvolutionSchema),
    horizon: Type.Optional(HorizonSchema),
    history: Type.Optional(HistorySchema),
    reconcile: Type.Optional(ReconcileSchema),
  },
  {
    additionalProperties: false,
    title: 'pgduck pipeline',
    description:
      'One Postgres table kept in sync with one DuckDB table. The file stem is the pipeline name. ' +
      'Any string value may use ${VAR} or ${VAR:-default} to read the environment.',
  },
);

/** A pipeline file as written: fields with a default may be left out (the editor schema must not demand them). */
export type PipelineFile = Static<typeof PipelineFileSchema>;
