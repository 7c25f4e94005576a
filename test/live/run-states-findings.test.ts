/**
 * `pgduck run` states the live findings `validate --connect` reports (here a nullable cursor and a
 * missing (cursor, key) index on a small table), once per pipeline, after its first successful run,
 * with validate's words: real Postgres, real DuckDB file, the real CLI.
 *  - `run --once`: each finding once in the log, after the run;
 *  - the service: each finding once however many later ticks sync changes, none for a pipeline
 *    whose runs fail (a wrong password stays a blocked state, not one more connection).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { CLI, createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { readCheckpoint } from '../support/sync-checks.js';

const SQL = `
CREATE TABLE loose (id int PRIMARY KEY, v text, updated_at timestamptz DEFAULT now());
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER loose_touch BEFORE UPDATE ON loose FOR EACH ROW EXECUTE FUNCTION touch();
INSERT INTO loose (id, v, updated_at) SELECT i, 'row ' || i, now() - interval '1 hour' + i * interval '1 second' FROM generate_series(1, 20) i;
ANALYZE loose;`;

const PIPELINE = (extra = '') => `source:
  table: public.loose
  primary_key: id
${extra}target:
  table: loose
schedule: "* * * * * *"
horizon:
  margin_ms: 0
`;

interface LogLine {
  level: number;
  msg: string;
  pipeline?: string;
  check?: string;
}

const logLines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** Findings stated in the log, as `pipeline check`. */
const stated = (stderr: string) =>
  logLines(stderr)
    .filter((l) => l.check !== undefined)
    .map((l) => `${l.pipeline} ${l.check}`)
    .sort();

async function waitFor(what: string, check: () => boolean | Promise<boolean>, context: () => string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await sleep(100);
  }
}

describe('run states the live findings', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;
  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('run_findings');
    await pg.query(url, SQL);
    ws = createWorkspace();
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  test('once per pipeline after its first successful run; not on later ticks; not for a pipeline that fails', async () => {
    ws.writePipeline('loose', PIPELINE());
    const validated = await runCli(['validate', '--connect'], ws.env(url));
    assert.equal(validated.code, 0, validated.stdout + validated.stderr);
    assert.match(validated.stdout, /warning: loose: cursor column "updated_at" is nullable/);
    assert.match(validated.stdout, /warning: loose: no index on \("updated_at", "id"\)/);

    // run --once: stated once each, after the run, with validate's words and the fix.
    const once = await runCli(['run', '--once'], ws.env(url));
    assert.equal(once.code, 0, once.stdout + once.stderr);
    assert.deepEqual(stated(once.stderr), ['loose cursor', 'loose index']);
    const index = logLines(once.stderr).find((l) => l.check === 'index')!;
    assert.equal(index.level, 40);
    assert.match(
      index.msg,
      /loose\.yml:\d+:\d+ source(\.cursor)?: warning: loose: no index on \("updated_at", "id"\).*\n {4}CREATE INDEX CONCURRENTLY .* ON "public"\."loose" \("updated_at", "id"\);/s,
    );
    assert.equal(readCheckpoint(ws, 'loose')?.rowsTotal, 20);

    // The service: a second pipeline that cannot log in, then several ticks of changes to loose.
    const bad = new URL(url);
    bad.password = 'not-the-password';
    ws.writePipeline('locked_out', PIPELINE(`  connection: ${JSON.stringify(bad.toString())}\n`).replace('table: loose', 'table: locked_out'));
    const child = spawn(process.execPath, [CLI, 'run'], {
      env: { ...ws.env(url), PGDUCK_BLOCKED_RETRY_SECONDS: '0', PGDUCK_RELOAD_SECONDS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const log = () => stderr;
    try {
      await waitFor('the findings stated', () => stated(stderr).length === 2, log);
      await waitFor('locked_out failed', () => logLines(stderr).some((l) => l.pipeline === 'locked_out' && l.level >= 50), log);
      for (const id of [1, 2, 3]) {
        const before = readCheckpoint(ws, 'loose')!.rowsTotal;
        await pg.query(url, `UPDATE loose SET v = 'tick ${id}' WHERE id = ${id}`);
        await waitFor(`change ${id} synced`, () => (readCheckpoint(ws, 'loose')?.rowsTotal ?? 0) > before, log);
      }
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr.slice(-2000));
    }
    assert.deepEqual(stated(stderr), ['loose cursor', 'loose index'], `each finding once, none for locked_out:\n${stderr.slice(-3000)}`);
    assert.ok(!stderr.includes('not-the-password'), 'no password printed');
  });
});
