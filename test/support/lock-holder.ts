/**
 * Hold a lock from another process until release(): a DuckDB file's (as a DuckDB CLI or a notebook
 * would) or a Parquet history directory's (as a running prune or replay would). The child script
 * prints "locked" once it holds it and lets go when its stdin closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './workspace.js';

export interface HeldLock {
  pid: number;
  release(): Promise<void>;
}

/**
 * The holder script's command line: run compiled (`npm test`), its transpiled .js next to this
 * module, without a TypeScript loader (~1 s of CPU per holder); from source, under tsx.
 */
function holderArgs(script: string): string[] {
  if (import.meta.url.endsWith('.js')) return [fileURLToPath(new URL(script.replace(/\.ts$/, '.js'), import.meta.url))];
  return ['--import', 'tsx', join(ROOT, 'test/support', script)];
}

async function holdInChild(script: string, target: string, what: string): Promise<HeldLock> {
  const child: ChildProcess = spawn(process.execPath, [...holderArgs(script), target], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`${what} holder exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    async release() {
      child.stdin!.end();
      await closed;
    },
  };
}

export const holdDuckDbLock = (path: string) => holdInChild('hold-duckdb-lock.ts', path, 'DuckDB lock');
export const holdHistoryLock = (parquetDir: string) => holdInChild('hold-pgduck-history-lock.ts', parquetDir, 'history lock');
