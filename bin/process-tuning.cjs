// Process-wide settings that must be in place before anything else loads: required first by
// bin/pgduck.cjs, and preloaded (node --require) by the benchmark's phases so they measure the same.
//
// DuckDB queries run on libuv's thread pool (4 threads by default), which must stay above the pipeline
// concurrency or one slow query blocks the rest (DESIGN.md). Node's ESM loader already uses that pool
// before an ESM entry's first line runs, so the size can only be set here.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '16';

// A batch's rows outlive V8's young generation, so each batch leaves garbage in the old one, which V8
// by default lets grow to several times the live heap before collecting it. 20% growth collects
// sooner: 1M rows bootstrapped in 10k batches, 420 → 365 MB peak RSS at the same speed (measured
// here). V8 reads heap_growing_percent at each collection, so setting it now, before anything is
// allocated, takes effect. A --heap-growing-percent given to node itself wins.
if (!`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.includes('heap-growing-percent')) {
  require('node:v8').setFlagsFromString('--heap-growing-percent=20');
}
