// Process-wide settings that must be in place before anything else loads: required first by
// bin/pgduck.cjs, and preloaded (node --require) by the benchmark's phases so they measure the same.
//
// DuckDB queries run on libuv's thread pool (4 threads by default), which must stay above the pipeline
// concurrency or one slow query blocks the rest (docs/architecture.md#facts-duckdb). Node's ESM loader already uses that pool
// before an ESM entry's first line runs, so the size can only be set here.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '16';

// DuckDB's own allocator (the jemalloc linked into libduckdb on Linux): one arena instead of 4 per
// core, and freed pages kept 300 ms, then handed back (DuckDB's default keeps them 1 s, then 1 s more
// as MADV_FREE pages that still count in RSS). Measured on 1M-row bootstraps of the bench table
// (2026-12-07, with the launcher's MALLOC_ARENA_MAX=2; docs/architecture.md, "Facts: DuckDB"):
//   batch 10,000:  211-215 MB peak RSS, 9.1-9.3 s (DuckDB's default: 229 MB, 9.95 s);
//   batch 100,000: 237-244 MB, 8.8-9.1 s (default: 262-302 MB, 9.4-12.0 s).
// Pages handed back at once (`dirty_decay_ms:0,muzzy_decay_ms:0`, this line's earlier value) doubled
// a batch-10,000 bootstrap (18.1 s, 203 MB): DuckDB does all of a batch's work, and its statements
// allocate and free so often that returning every page cost 9 s of system CPU. Each thread keeps its
// own small cache in front of the one arena. One value given in the environment wins (README
// "Memory"). jemalloc reads this variable (the `duckdb_je_` build's name for MALLOC_CONF) at DuckDB's
// first allocation, after this line. Elsewhere (macOS, Windows) DuckDB uses the system allocator and
// nothing reads it.
process.env.DUCKDB_JE_MALLOC_CONF = process.env.DUCKDB_JE_MALLOC_CONF || 'narenas:1,dirty_decay_ms:300,muzzy_decay_ms:0';

// A batch's rows outlive V8's young generation, so each batch leaves garbage in the old one, which V8
// by default lets grow to several times the live heap before collecting it, and the young generation
// itself grows to 2 x 16 MB. Measured here on 1M rows bootstrapped in 10k batches: old generation
// grown 20% at a time, 420 → 375 MB peak RSS at the same speed; young generation kept at its initial
// size, another 15–35 MB for ~1 s more (npm run bench: 17.1 → 17.7–19.0 s). V8 reads both at each
// collection, so setting them now, before anything is allocated, takes effect. The same flag given to
// node itself wins.
const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
for (const flag of ['--heap-growing-percent=20', '--semi-space-growth-factor=1']) {
  if (!given.includes(flag.split('=')[0])) require('node:v8').setFlagsFromString(flag);
}

// pg (8.x) asks when it loads whether it runs on Cloudflare Workers. Where there is no `navigator`
// (Node 20; Node 21+ has one) it builds a fetch `Response` to find out, which loads Node's whole
// fetch implementation (undici): ~30 ms of CPU in every process that talks to Postgres, for an
// answer that is always no. The `navigator` Node 21+ defines answers it at once; nothing else pgduck
// runs reads `navigator` (its production dependencies, checked 2026-12-07).
if (globalThis.navigator === undefined) {
  Object.defineProperty(globalThis, 'navigator', {
    value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` },
    writable: true,
    configurable: true,
  });
}
