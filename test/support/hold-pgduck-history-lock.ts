/**
 * Child process for tests: takes a Parquet history directory's lock as `pgduck history prune` and
 * `pgduck replay` take it (src/history/history-lock.ts), prints `locked` on stdout, and holds it
 * until its stdin closes. Its file name holds "pgduck": the lock's staleness check takes over a lock
 * whose pid runs something that is not pgduck (src/state/lock-file.ts).
 *
 *   node --import tsx test/support/hold-pgduck-history-lock.ts <parquet dir>
 */
import { lockHistory } from '../../src/history/history-lock.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: hold-pgduck-history-lock.ts <parquet dir>');
const locks = lockHistory([dir], 'the test holder');
if (locks.length === 0) throw new Error(`${dir} does not exist: nothing to lock`);
process.stdout.write('locked\n');
await new Promise<void>((resolve) => {
  process.stdin.on('end', resolve);
  process.stdin.on('close', resolve);
  process.stdin.resume();
});
for (const lock of locks) lock.release();
