/**
 * Paths and connection for a command: each a CLI flag, else an environment variable, else a default.
 */
import { join } from 'node:path';
import { databaseUrlFromEnv } from '../postgres/connection-url.js';
import { UsageError } from '../errors/usage-error.js';
import { DEFAULT_DUCKDB_PATH } from '../config/check-pipeline-set.js';

export interface Settings {
  pipelinesDir: string;
  duckdbPath: string;
  parquetDir: string;
  stateDir: string;
  /** null when nothing is configured (the demo then starts an embedded Postgres). */
  databaseUrl: string | null;
  concurrency: number;
  /** DuckDB memory_limit for the runner's DuckDB instance; null: DuckDB's default (80% of RAM). */
  duckdbMemoryLimit: string | null;
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
    duckdbMemoryLimit: parseMemoryLimit(env.PGDUCK_DUCKDB_MEMORY_LIMIT),
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

function parseMemoryLimit(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$/i.exec(raw);
  if (!m) throw new UsageError(`PGDUCK_DUCKDB_MEMORY_LIMIT must be a size such as 512MB or 2GiB, got ${JSON.stringify(raw)}`);
  return `${m[1]}${m[2]}`;
}
