/**
 * @duckdb/node-api, loaded when the first DuckDB file is opened (not by every command that reaches a
 * module of src/duckdb/), and with `require`, not `import()`. The package is CommonJS and re-exports
 * its many files one by one: an `import()` of it has Node (20) lex each of those files for their
 * export names before loading them (cjs-module-lexer), which costs more than loading them.
 * Measured on this machine (2026-12-07, 3 alternated runs, CPU of loading the package):
 * `import()` 370–460 ms, `require` 145–190 ms (docs/architecture.md, "Facts: CLI startup").
 */
import { createRequire } from 'node:module';

type DuckDBApi = typeof import('@duckdb/node-api');

let api: DuckDBApi | undefined;

export function duckdbApi(): DuckDBApi {
  api ??= createRequire(import.meta.url)('@duckdb/node-api') as DuckDBApi;
  return api;
}
