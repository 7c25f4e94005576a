/**
 * Shared by the failure tests: small source tables with a trigger-set cursor, and pipeline files
 * for them, so each test builds exactly the pipelines its failure needs next to ones that must go on.
 */
import type { TestPostgres } from '../support/postgres.js';
import type { Workspace } from '../support/workspace.js';

/** `public.<table>` (id, name, amount, updated_at by trigger, deleted_at) with `rows` rows. */
export async function createTable(pg: TestPostgres, url: string, table: string, rows: number): Promise<void> {
  await pg.query(
    url,
    `CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
     CREATE TABLE public.${table} (
       id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), payload text,
       updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
     CREATE INDEX ON public.${table} (updated_at, id);
     CREATE TRIGGER ${table}_touch BEFORE UPDATE ON public.${table} FOR EACH ROW EXECUTE FUNCTION touch();
     INSERT INTO public.${table} (id, name, amount, payload)
       SELECT i, 'row ' || i, i * 1.25, repeat(md5(i::text), 4) FROM generate_series(1, ${rows}) i;`,
  );
}

export interface PipelineOptions {
  batchSize?: number;
  connection?: string;
  duckdbPath?: string;
  schedule?: string;
}

/** A pipeline file for `public.<table>` → DuckDB table `<table>`; margin 0 so every batch checkpoints. */
export function writeTablePipeline(ws: Workspace, name: string, table: string, opts: PipelineOptions = {}): string {
  return ws.writePipeline(
    name,
    [
      'source:',
      `  table: public.${table}`,
      '  primary_key: id',
      '  soft_delete: deleted_at',
      ...(opts.connection ? [`  connection: ${JSON.stringify(opts.connection)}`] : []),
      'target:',
      `  table: ${table}`,
      ...(opts.duckdbPath ? [`  duckdb_path: ${JSON.stringify(opts.duckdbPath)}`] : []),
      `batch_size: ${opts.batchSize ?? 1000}`,
      `schedule: "${opts.schedule ?? '*/30 * * * * *'}"`,
      'horizon:',
      '  margin_ms: 0',
      '',
    ].join('\n'),
  );
}
