/** The one-writer-per-table check uses the DuckDB file the command will write: --duckdb counts like DUCKDB_PATH. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkspace, runCli } from '../support/workspace.js';

test('two pipelines writing one table of the --duckdb file are refused, as with DUCKDB_PATH', async () => {
  const ws = createWorkspace();
  try {
    ws.writePipeline('a', 'source:\n  table: public.a\n  primary_key: id\ntarget:\n  table: t\n');
    ws.writePipeline('b', 'source:\n  table: public.b\n  primary_key: id\ntarget:\n  table: t\n  duckdb_path: x.duckdb\n');
    const env = { ...ws.env('') };
    delete env.DUCKDB_PATH;
    const viaFlag = await runCli(['--duckdb', 'x.duckdb', 'validate', ws.pipelinesDir], env);
    assert.equal(viaFlag.code, 3, viaFlag.stdout);
    assert.match(viaFlag.stdout, /b\.yml:\d+:\d+ target\.table: DuckDB table `t` is already written by pipeline `a`/);
    const viaEnv = await runCli(['validate', ws.pipelinesDir], { ...env, DUCKDB_PATH: 'x.duckdb' });
    assert.equal(viaEnv.stdout, viaFlag.stdout);
    const apart = await runCli(['--duckdb', 'y.duckdb', 'validate', ws.pipelinesDir], env);
    assert.equal(apart.code, 0, apart.stdout);
  } finally {
    ws.cleanup();
  }
});
