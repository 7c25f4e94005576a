/**
 * A `pgduck run` service child driven as test/service/service-rename-in-flight.test.ts
 * drives it (its JSON log read line by line), killed on every path by stop().
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI } from './workspace.js';

export interface LogLine {
  level: number;
  msg: string;
  pipeline?: string;
  error?: { code?: string; kind?: string; message?: string };
  [k: string]: unknown;
}

export interface Service {
  child: ChildProcess;
  stderr(): string;
  lines(): LogLine[];
  waitFor(what: string, check: () => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startService(env: NodeJS.ProcessEnv): Service {
  const child = spawn(process.execPath, [CLI, 'run'], { env: { PGDUCK_LOG_LEVEL: 'debug', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  const lines = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return [];
        }
      });
  return {
    child,
    stderr: () => stderr,
    lines,
    async waitFor(what, check, timeoutMs = 180_000) {
      const until = Date.now() + timeoutMs;
      while (!check()) {
        if (done) assert.fail(`the service exited while waiting for ${what}\n${stderr.slice(-4000)}`);
        if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${stderr.slice(-4000)}`);
        await sleep(50);
      }
    },
    async stop() {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
