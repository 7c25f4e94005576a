#!/usr/bin/env node
// The `pgduck` executable: a plain node script, so every installer's launcher starts it as it is —
// npm's symlink on Linux and macOS, the .cmd, PowerShell and sh shims npm and pnpm write (pnpm writes
// them on every system), and `node bin/pgduck.cjs` where there is no shell at all (a distroless
// image). No POSIX shell is needed anywhere.
//
// One setting cannot be made from inside node: glibc reads MALLOC_ARENA_MAX only when a process
// starts. DuckDB's queries run on libuv's thread pool, and each thread that mallocs gets its own glibc
// arena (up to 8 per core), each keeping what it freed: with 2 arenas instead of up to 16, peak RSS of
// a bootstrap is 20–40 MB lower at the same speed (measured with `npm run bench`, README "Memory").
// So on Linux, for the commands that move data, when the environment does not set it, this file
// replaces its own process with a fresh node that has it (process.execve: the same process, pid and
// parent; ~40 ms of node start). process.execve exists from Node 22.15 / 23.11; on older Node the
// setting comes from the environment only (the Docker image sets it; README "Memory").
//
// CommonJS on purpose: process-tuning.cjs must run before any module loads.
const DATA_COMMANDS = new Set(['run', 'replay', 'reconcile', 'verify', 'demo']);
if (
  process.platform === 'linux' &&
  process.env.MALLOC_ARENA_MAX === undefined &&
  typeof process.execve === 'function' &&
  process.argv.slice(2).some((arg) => DATA_COMMANDS.has(arg))
) {
  // Experimental in Node 22–24: its ExperimentalWarning would print on the next tick, which never
  // comes (the process is replaced); kept quiet here all the same, and restored if the exec fails.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, __filename, ...process.argv.slice(2)], {
      ...process.env,
      MALLOC_ARENA_MAX: '2',
    });
  } catch {
    // Not replaced (e.g. a sandbox forbids exec): run as it is, without the setting.
  } finally {
    process.emitWarning = emitWarning;
  }
}
require('./process-tuning.cjs');
import('../dist/cli.js');
