/**
 * The one source of truth for a pipeline file. The JSON Schema in schema/pipeline.schema.json is
 * generated from this (npm run schema) and a test fails when the checked-in copy is stale; the
 * TypeScript type `PipelineFile` is derived from it with `Static`, so neither can drift.
 */
import { Type, type Static } from '@sinclair/typebox';

const Identifier = (description: string) => Type.String({ minLength: 1, maxLength: 63, description });

export const SourceSchema = Type.Object(
  {
    schema: Type.Optional(
      Type.String({ minLength: 1, default: 'public', description: 'Postgres schema of the table. Ignored when `table` is schema-qualified.' }),
    ),
    table: Type.String({
      minLength: 1,
      description: 'Source table, optionally schema-qualified (`public.subscriptions`). Quoted on use: any name works.',
    }),
    primary_key: Type.Union([Identifier('A single primary-key column.'), Type.Array(Identifier('A primary-key column.'), { minItems: 1, uniqueItems: true })], {
      description: 'Primary-key column, or a list of columns for a composite key. Must be NOT NULL and unique in the source.',
    }),
    cursor: Type.String({
      minLength: 1,
      default: 'updated_at',
      description: 'Column that grows on every change (timestamptz/timestamp, or an integer version). Rows are read in (cursor, key) order.',
    }),
    soft_delete: Type.Optional(
      Type.String({ minLength: 1, description: 'Tombstone column (e.g. `deleted_at`). Synced like any column; a `<target>_current` view hides tombstoned rows.' }),
    ),
    connection: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Connection string for this pipeline only; default is DATABASE_URL. Use `${ENV_VAR}` so secrets stay out of the file.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Where the rows come from.' },
);

export const TargetSchema = Type.Object(
  {
    table: Type.String({ minLength: 1, description: 'DuckDB table to keep in sync (created on the first run).' }),
    duckdb_path: Type.Optional(Type.String({ minLength: 1, description: 'DuckDB file for this pipeline; default is DUCKDB_PATH (lake/warehouse.duckdb).' })),
  },
  { additionalProperties: false, description: 'Where the rows go.' },
);

export const HorizonSchema = Type.Object(
  {
    margin_ms: Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      default: 1000,
      description: 'Safety margin subtracted from the commit-safe horizon (milliseconds).',
    }),
    lookback_seconds: Type.Integer({
      minimum: 0,
      maximum: 86_400 * 7,
      default: 300,
      description:
        'Used only when the role cannot see other sessions in pg_stat_activity: each run re-reads from checkpoint minus this window.',
    }),
  },
  { additionalProperties: false, description: 'Commit-safe horizon settings (see README, "Guarantees").' },
);

export const PipelineFileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Editor hint; ignored.' })),
    source: SourceSchema,
    target: TargetSchema,
    batch_size: Type.Integer({ minimum: 1, maximum: 200_000, default: 10_000, description: 'Rows per batch (one Parquet file, one DuckDB transaction).' }),
    schedule: Type.String({
      minLength: 1,
      default: '*/30 * * * * *',
      description: 'Cron expression, 5 fields or 6 with seconds first (`*/30 * * * * *` = every 30 s).',
    }),
    timezone: Type.String({ minLength: 1, default: 'UTC', description: 'IANA time zone the schedule is read in (e.g. Europe/Berlin).' }),
    enabled: Type.Boolean({ default: true, description: 'A disabled pipeline is validated but never run.' }),
    schema_evolution: Type.Union([Type.Literal('evolve'), Type.Literal('freeze'), Type.Literal('fail')], {
      default: 'evolve',
      description: 'evolve: add/widen/rename columns in DuckDB; freeze: keep the target schema, ignore new columns; fail: stop on any drift.',
    }),
    horizon: Type.Optional(HorizonSchema),
  },
  { additionalProperties: false, title: 'pgduck pipeline', description: 'One Postgres table kept in sync with one DuckDB table.' },
);

export type PipelineFile = Static<typeof PipelineFileSchema>;
