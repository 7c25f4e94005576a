// Shared by the config tests (not a test itself): run `validate` in-process and capture its output.
import { Writable } from 'node:stream';
import { runValidate, type ValidateOptions } from '../../src/commands/validate.js';
import { ROOT } from '../support/repo-root.js';

export const repoRoot = ROOT;

/**
 * Messages carry paths as given; the tests give them relative to the repository root, so expected
 * outputs read the same on every machine. node --test runs each test file in its own process.
 */
export function useRepoRoot(): void {
  process.chdir(repoRoot);
}

export async function captureValidate(paths: string[], opts: ValidateOptions): Promise<{ code: number; output: string }> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  const code = await runValidate(paths, opts, out);
  return { code, output: Buffer.concat(chunks).toString('utf8') };
}

/** Set PGDUCK_UPDATE_EXPECTED=1 to rewrite expected-output files after a deliberate message change. */
export const updateExpected = process.env.PGDUCK_UPDATE_EXPECTED === '1';
