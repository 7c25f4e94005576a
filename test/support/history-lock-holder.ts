/** Hold a Parquet history directory's lock from another process (as a running prune or replay would) until release(). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './workspace.js';

export async function holdHistoryLock(parquetDir: string): Promise<{ pid: number; release(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/hold-pgduck-history-lock.ts'), parquetDir], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`history lock holder exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    async release() {
      child.stdin!.end();
      await closed;
    },
  };
}
