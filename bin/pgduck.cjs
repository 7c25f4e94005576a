#!/bin/sh
":" //; export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"; exec node "$0" "$@"
// The `pgduck` executable: a shell line, then this CommonJS file again under node.
//
// The shell line runs first (the kernel reads `#!/bin/sh`); to node it is a string and a comment. It
// exists for one setting glibc reads only when a process starts: MALLOC_ARENA_MAX. DuckDB's queries
// run on libuv's thread pool, and each thread that mallocs gets its own glibc arena (up to 8 per
// core), each keeping what it freed: measured on 1M-row bootstraps, 2 arenas instead of up to 16
// is −50 MB peak RSS at the same speed (README "Memory"). A MALLOC_ARENA_MAX already set wins;
// `node bin/pgduck.cjs` skips the line (and the setting) altogether. `exec`: still one process.
//
// CommonJS on purpose: process-tuning.cjs must run before any module loads.
require('./process-tuning.cjs');
import('../dist/cli.js');
