/**
 * The test files' runner, started by scripts/run-tests.ts (the launcher) compiled, as
 * .test-build/scripts/run-test-files.js: node:test's `run()` on the files given (compiled too), in the
 * order given, several at once.
 *
 *   node .test-build/scripts/run-test-files.js <concurrency> <file.js ...>
 *
 * Why not `node --test <files>`: Node 20's `--test` sorts the files by name before running them, so
 * the launcher's longest-first order was lost and the run ended with the verify/ files, among the
 * longest, running alone on one core (measured: the last files to finish were
 * test/verify/verify-command.test.ts and key-ranges.test.ts). `run()` keeps the order. Each file still
 * runs in a process of its own, with this process's flags (so no TypeScript loader: the files are
 * JavaScript already).
 *
 * Output as `node --test` prints it (spec on a terminal, TAP otherwise); exit 1 when a test failed.
 * SIGINT / SIGTERM abort the run, which ends the files' processes.
 * PGDUCK_TEST_TIMES=<file.json>: also writes, per file, the summed time of its top-level tests and
 * their count, longest first (which files a faster suite has to work on).
 */
import { writeFileSync } from 'node:fs';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

const [concurrencyArg, ...files] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if (!Number.isInteger(concurrency) || concurrency < 1 || files.length === 0) {
  console.error('usage: node .test-build/scripts/run-test-files.js <concurrency> <file.js ...>');
  process.exit(2);
}

const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.exitCode = 1;
    abort.abort();
  });
}

const stream = run({ files, concurrency, signal: abort.signal });
stream.on('test:fail', (data) => {
  if (!data.todo) process.exitCode = 1;
});
const timesPath = process.env.PGDUCK_TEST_TIMES;
if (timesPath) {
  const perFile = new Map<string, { ms: number; tests: number }>();
  const record = (data: { nesting: number; file?: string; details: { duration_ms: number } }) => {
    if (data.nesting !== 0 || !data.file) return;
    const entry = perFile.get(data.file) ?? { ms: 0, tests: 0 };
    entry.ms += data.details.duration_ms;
    entry.tests += 1;
    perFile.set(data.file, entry);
  };
  stream.on('test:pass', record);
  stream.on('test:fail', record);
  stream.on('end', () => {
    const rows = [...perFile].map(([file, e]) => ({ file, seconds: Math.round(e.ms) / 1000, tests: e.tests }));
    rows.sort((a, b) => b.seconds - a.seconds);
    writeFileSync(timesPath, `${JSON.stringify(rows, null, 2)}\n`);
  });
}
const reporter = process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap);
reporter.pipe(process.stdout);
