#!/usr/bin/env node
// The `pgduck` executable. CommonJS on purpose: DuckDB queries run on libuv's thread pool (4 threads
// by default), which must stay above the pipeline concurrency or one slow query blocks the rest
// (DESIGN.md). Node's ESM loader already uses that pool before an ESM entry's first line runs, so the
// size can only be set here, before anything is imported.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '16';
import('../dist/cli.js');
