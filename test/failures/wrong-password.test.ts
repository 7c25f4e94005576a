/**
 * A pipeline with its own `source.connection` and a wrong password, next to pipelines on
 * DATABASE_URL: it fails with a message that says the password was refused, the others go on,
 * exit 3 (kind config), and the password appears nowhere: not on stdout, stderr or the logs, not in the state
 * store, not in `pgduck status` (text or JSON).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type Workspace } from '../support/workspace.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { createTable, writeTablePipeline } from './failure-fixture.js';

const RIGHT = 'R1ght-Passw0rd-17';
const WRONG = 'Wr0ng-p@ss-42';

describe('a wrong password in one pipeline', () => {
  let pg: TestPostgres;
  let url: string;
  let ws: Workspace;
  let wrongUrl: string;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('wrong_password');
    await createTable(pg, url, 'orders', 250);
    await createTable(pg, url, 'refunds', 120);
    await createTable(pg, url, 'payouts', 80);
    await pg.query(url, `CREATE ROLE app LOGIN PASSWORD '${RIGHT}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO app; GRANT pg_read_all_stats TO app`);
    const as = (password: string) => {
      const u = new URL(url);
      u.username = 'app';
      u.password = encodeURIComponent(password);
      return u.toString();
    };
    wrongUrl = as(WRONG);
    ws = createWorkspace();
    writeTablePipeline(ws, 'orders', 'orders', { batchSize: 100 });
    writeTablePipeline(ws, 'refunds', 'refunds', { connection: wrongUrl });
    writeTablePipeline(ws, 'payouts', 'payouts', { connection: as(RIGHT) });
  });
  after(async () => {
    ws?.cleanup();
    await pg?.stop();
  });

  /** Every byte pgduck left behind that a person or a log shipper could read. */
  const everything = (...outputs: string[]) => {
    const state = readdirSync(ws.stateDir).map((f) => readFileSync(join(ws.stateDir, f)).toString('latin1'));
    return [...outputs, ...state].join('\n');
  };
  const assertNoSecret = (text: string) => {
    for (const secret of [WRONG, encodeURIComponent(WRONG), RIGHT])
      assert.ok(!text.includes(secret), `a password was printed or stored:\n${text.slice(0, 4000)}`);
  };

  test('the pipeline fails saying the password was refused; the others sync; exit 3 (config); no password anywhere', async () => {
    const res = await runCli(['run', '--once'], ws.env(url));
    assert.equal(res.code, 3, `${res.stdout}\n${res.stderr}`);
    assert.match(
      res.stdout,
      /^✗ refunds: pipeline refunds failed in setup: cannot connect to Postgres at postgres:\/\/app:\*\*\*\*@[^:]+:\d+\/wrong_password\w*: password authentication failed for user "app"; the password was refused.* — checkpoint not advanced; next run starts from the beginning of the table$/m,
    );
    assert.match(res.stdout, /^✓ orders: 250 rows in 3 batches/m);
    assert.match(res.stdout, /^✓ payouts: 80 rows/m);
    assert.match(res.stderr, /1 pipeline failed: refunds/);
    const failedLog = res.stderr.split('\n').find((l) => l.includes('"level":50') && l.includes('"pipeline":"refunds"'));
    assert.ok(failedLog, 'the failure is logged');
    assert.equal(readCheckpoint(ws, 'refunds')?.position ?? null, null, 'no checkpoint');

    const status = await runCli(['status', '--json'], ws.env(url));
    const statusText = await runCli(['status'], ws.env(url));
    const refunds = (
      JSON.parse(status.stdout).checkpoints as { pipeline: string; lastStatus: string; lastError: string; lastErrorKind: string; lastErrorCode: string }[]
    ).find((c) => c.pipeline === 'refunds');
    assert.equal(refunds?.lastStatus, 'failed');
    assert.deepEqual([refunds?.lastErrorKind, refunds?.lastErrorCode], ['config', 'AUTH_FAILED']);
    assert.match(refunds?.lastError ?? '', /^pipeline refunds failed in setup: cannot connect/, 'the kind prefix is not part of the error shown');
    assert.match(refunds?.lastError ?? '', /postgres:\/\/app:\*\*\*\*@.*password authentication failed/);
    assert.match(statusText.stdout, /refunds .*failed \(config\) .*AUTH_FAILED/);
    assertNoSecret(everything(res.stdout, res.stderr, status.stdout, status.stderr, statusText.stdout, statusText.stderr));
  });

  test('a second failing run keeps the checkpoint where it was; fixed, the pipeline catches up and verify is equal', async () => {
    const again = await runCli(['run', '--once', '--only', 'refunds'], ws.env(url));
    assert.equal(again.code, 3);
    assertNoSecret(everything(again.stdout, again.stderr));
    writeTablePipeline(ws, 'refunds', 'refunds', { connection: wrongUrl.replace(encodeURIComponent(WRONG), encodeURIComponent(RIGHT)) });
    const fixed = await runCli(['run', '--once'], ws.env(url));
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.match(fixed.stdout, /^✓ refunds: 120 rows/m);
    const after = JSON.parse((await runCli(['status', '--json'], ws.env(url))).stdout).checkpoints as {
      pipeline: string;
      lastStatus: string;
      lastError: string | null;
    }[];
    assert.deepEqual(
      after.filter((c) => c.pipeline === 'refunds').map((c) => [c.lastStatus, c.lastError]),
      [['ok', null]],
    );
    assertNoSecret(everything(fixed.stdout, fixed.stderr));
    await assertVerified(ws, url);
  });
});
