// Preloaded into a CLI process (`node --import`) by test/project/lazy-loading.test.ts: appends every
// module the process loads to the file PGDUCK_TRACE_MODULES_OUT names, one URL or path a line. ES
// modules are seen as they resolve (trace-modules-hook.mjs, on the loader's thread); CommonJS modules
// loaded by require() from CommonJS do not pass that hook, so require's cache is added at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.PGDUCK_TRACE_MODULES_OUT;
if (out) {
  register(new URL('./trace-modules-hook.mjs', import.meta.url), { data: { out } });
  process.on('exit', () => {
    appendFileSync(out, `${Object.keys(createRequire(import.meta.url).cache).join('\n')}\n`);
  });
}
