/**
 * Paths and connection for a command: each a CLI flag, else an environment variable, else a default.
 */
import { join } from 'node:path';
import { databaseUrlFromEnv } from '../postgres/connection-url.js';
import { UsageError } from './usage-error.js';
import { DEFAULT_DUCKDB_PATH } from '../config/check-pipeline-set.js';

export interface Settings {
  pipelinesDir: string;
  duckdbPath: string;
  parquetDir: string;
  stateDir: string;
  /** null when nothing is configured (the demo then starts an embedded Postgres). */
  databaseUrl: string | null;
  concurrency: number;
}

export interface GlobalFlags {
  pipelines?: string;
  duckdb?: string;
  parquetDir?: string;
  stateDir?: string;
  databaseUrl?: string;
  concurrency?: string;
}

export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    pipelinesDir: flags.pipelines ?? env.PIPELINES_DIR ?? 'pipelines',
    duckdbPath: flags.duckdb ?? env.DUCKDB_PATH ?? DEFAULT_DUCKDB_PATH,
    parquetDir: flags.parquetDir ?? env.PARQUET_DIR ?? 'parquet',
    stateDir: flags.stateDir ?? env.STATE_DIR ?? 'state',
    databaseUrl: flags.databaseUrl ?? databaseUrlFromEnv(env),
    concurrency: parseConcurrency(flags.concurrency ?? env.PGDUCK_CONCURRENCY ?? '4'),
  };
}

export function checkpointDbPath(settings: Settings): string {
  return join(settings.stateDir, 'checkpoints.db');
}

function parseConcurrency(raw: string): number {
  if (!/^[1-9][0-9]{0,3}$/.test(raw.trim())) {
    throw new UsageError(`--concurrency (or PGDUCK_CONCURRENCY) must be a whole number from 1 to 9999, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
