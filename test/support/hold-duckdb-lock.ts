/**
 * Child process for tests: opens a DuckDB file read-write (taking its lock, as a DuckDB CLI or a
 * notebook would), prints `locked` on stdout, and holds the lock until its stdin closes.
 *
 *   node --import tsx test/support/hold-duckdb-lock.ts <file>
 */
import { Lake } from '../../src/duckdb/lake.js';

const path = process.argv[2];
if (!path) throw new Error('usage: hold-duckdb-lock.ts <duckdb file>');
// Attached, as the runner holds it: a lock taken through withDuckDbFile was seen to vanish now and then (DuckDB 1.5.6).
await new Lake().withSession(path, async () => {
  process.stdout.write('locked\n');
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
});
