/**
 * Progress bars on a real pseudo-terminal (`script`), on real Postgres and DuckDB: a bootstrap of an
 * analyzed table draws a bar with rows of pg_class's estimate; on the final screen every line is a
 * whole log line or the run's result (no bar left over, none glued into a line); `--no-progress`
 * draws none.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace } from '../support/workspace.js';
import { createTable, writeTablePipeline } from '../failures/failure-fixture.js';
import { readCheckpoint } from '../support/sync-checks.js';
import { screen } from '../support/screen.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
let pg: TestPostgres;
let url: string;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('progress_pty');
  await createTable(pg, url, 'big', 20_000);
  await pg.query(url, 'ANALYZE public.big');
});
after(async () => {
  await pg?.stop();
});

function onTerminal(args: string[], env: NodeJS.ProcessEnv): { status: number | null; out: string } {
  const command = [process.execPath, CLI, ...args].map((a) => JSON.stringify(a)).join(' ');
  const res = spawnSync('script', ['-qefc', command, '/dev/null'], { env: { ...env, TERM: 'xterm', COLUMNS: '120' }, encoding: 'utf8' });
  return { status: res.status, out: res.stdout };
}

const LOG_LINE = /^\[\d\d:\d\d:\d\d\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): /;

test('a bootstrap on a terminal shows a bar of the estimate that never cuts a log line; --no-progress shows none', { skip: !hasScript }, () => {
  for (const flags of [[], ['--no-progress']]) {
    const ws = createWorkspace();
    writeTablePipeline(ws, 'big', 'big', { batchSize: 500 });
    const { PGDUCK_LOG_FORMAT: _json, ...env } = ws.env(url);
    const { status, out } = onTerminal(['run', '--once', ...flags], { ...env, PGDUCK_LOG_LEVEL: 'debug' });
    assert.equal(status, 0, out);
    assert.equal(readCheckpoint(ws, 'big')?.rowsTotal, 20_000);
    const bars = out.match(/big {2}\[[█░]{20}\] +\d+% {2}[\d,]+ of ~20,000 rows/g) ?? [];
    if (flags.length === 0) assert.ok(bars.length >= 1, `a bar of the estimate was drawn:\n${out.slice(0, 2000)}`);
    else {
      assert.deepEqual(bars, [], '--no-progress');
      assert.ok(!out.includes('\x1b[J'), 'no cursor movement at all');
    }
    const lines = screen(out);
    // Per batch at DEBUG: many lines were written while the bar was drawn; each reached the screen whole.
    assert.ok(lines.filter((l) => /DEBUG: batch applied/.test(l)).length >= 40, lines.join('\n'));
    for (const line of lines)
      assert.ok(LOG_LINE.test(line) || /^✓ big: 20000 rows in 40 batches/.test(line), `a line cut or left over on the screen: ${JSON.stringify(line)}`);
    assert.ok(lines.some((l) => /INFO: pipeline synced/.test(l)));
    ws.cleanup();
  }
});
