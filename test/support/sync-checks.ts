/**
 * Checks shared by the sync tests: the checkpoint as stored, and `pgduck verify` through the real CLI.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { join } from 'node:path';
import { CheckpointStore, type Checkpoint } from '../../src/state/checkpoint-store.js';
import type { PipelineVerification } from '../../src/commands/verify.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import { runCli, type Workspace } from './workspace.js';

/** The sessions a test opens itself (writers, transactions held open), all ended by endAll() in after(). */
export class TestClients {
  private readonly clients: pg.Client[] = [];

  async connect(config: string | pg.ClientConfig): Promise<pg.Client> {
    const c = new pg.Client(typeof config === 'string' ? { connectionString: config } : config);
    // A session the server ends (a test stopping it, a terminated backend) must not crash the run.
    c.on('error', () => {});
    await c.connect();
    this.clients.push(c);
    return c;
  }

  async endAll(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.end().catch(() => {});
  }
}

/** The target table's ids in order, read from the workspace's DuckDB file. */
export function duckIds(ws: Workspace, table: string): Promise<number[]> {
  return withDuckDbFile(ws.duckdbPath, async (s) => (await s.all(`SELECT list(id ORDER BY id) AS ids FROM ${table}`))[0].ids as number[], { readOnly: true });
}

export function readCheckpoint(ws: Workspace, pipeline: string): Checkpoint | null {
  const store = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
  try {
    return store.get(pipeline);
  } finally {
    store.close();
  }
}

/** `pgduck verify <names…> --json` must exit 0 and report every pipeline equal. */
export async function assertVerified(ws: Workspace, url: string, names: string[] = []): Promise<PipelineVerification[]> {
  const res = await runCli(['verify', ...names, '--json'], ws.env(url));
  const out = res.stdout ? (JSON.parse(res.stdout) as { equal: boolean; pipelines: PipelineVerification[] }) : null;
  const diffs = out?.pipelines.filter((p) => !p.equal).map((p) => ({ pipeline: p.pipeline, error: p.error, differences: p.verdict?.differences.slice(0, 10) }));
  assert.equal(res.code, 0, `verify: ${JSON.stringify(diffs)} ${res.stderr}`);
  assert.equal(out?.equal, true);
  return out.pipelines;
}

/** `pgduck run --once` must exit 0; returns stdout and stderr. */
export async function runOnce(ws: Workspace, url: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const res = await runCli(['run', '--once', ...args], { ...ws.env(url), ...env });
  assert.equal(res.code, 0, `run --once: ${res.stdout}\n${res.stderr}`);
  return res;
}
