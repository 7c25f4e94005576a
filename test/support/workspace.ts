/**
 * A throwaway pgduck workspace for a test: pipelines dir, DuckDB file, Parquet dir, state dir,
 * plus helpers to run the real CLI (dist/cli.js) against it. Removed by cleanup().
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT } from './repo-root.js';

export { ROOT };
/** The real executable, as npm links it (it runs dist/cli.js). */
export const CLI = join(ROOT, 'bin', 'pgduck.cjs');

export interface Workspace {
  dir: string;
  pipelinesDir: string;
  duckdbPath: string;
  parquetDir: string;
  stateDir: string;
  writePipeline(name: string, yaml: string): string;
  env(databaseUrl: string): NodeJS.ProcessEnv;
  cleanup(): void;
}

export function createWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-ws-'));
  const ws: Workspace = {
    dir,
    pipelinesDir: join(dir, 'pipelines'),
    duckdbPath: join(dir, 'lake', 'warehouse.duckdb'),
    parquetDir: join(dir, 'parquet'),
    stateDir: join(dir, 'state'),
    writePipeline(name, yaml) {
      mkdirSync(ws.pipelinesDir, { recursive: true });
      const path = join(ws.pipelinesDir, `${name}.yml`);
      writeFileSync(path, yaml);
      return path;
    },
    env(databaseUrl) {
      return {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PIPELINES_DIR: ws.pipelinesDir,
        DUCKDB_PATH: ws.duckdbPath,
        PARQUET_DIR: ws.parquetDir,
        STATE_DIR: ws.stateDir,
        PGDUCK_LOG_FORMAT: 'json',
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The demo tables' pipeline files (same shape as pipelines/*.yml), with a chosen batch size. */
export function demoPipelines(ws: Workspace, batchSize: number): void {
  for (const [name, key] of [
    ['accounts', 'id'],
    ['subscriptions', 'id'],
    ['invoices', 'id'],
    ['invoice_lines', '[invoice_id, line_no]'],
  ]) {
    ws.writePipeline(
      name,
      `source:\n  table: public.${name}\n  primary_key: ${key}\n  cursor: updated_at\n  soft_delete: deleted_at\ntarget:\n  table: ${name}\nbatch_size: ${batchSize}\nschedule: "*/30 * * * * *"\ntimezone: UTC\n`,
    );
  }
}

export const DEMO_KEYS: Record<string, string[]> = {
  accounts: ['id'],
  subscriptions: ['id'],
  invoices: ['id'],
  invoice_lines: ['invoice_id', 'line_no'],
};
