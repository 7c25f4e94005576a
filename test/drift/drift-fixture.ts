/**
 * A source table for drift tests and the moves around it: a fresh database and workspace per case,
 * `items` with 60 rows (distinct updated_at, in id order, every tenth soft-deleted), a pipeline with
 * batch_size 10 and a soft_delete column (so the `items_current` view lives through every change), and helpers
 * to run the real CLI, stop it mid-stream (PGDUCK_FAULT), read the state store and compare the tables.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestPostgres } from '../support/postgres.js';
import { createWorkspace, runCli, type CliResult, type Workspace } from '../support/workspace.js';
import { runOnce } from '../support/sync-checks.js';
import { compareTables } from '../support/compare-tables.js';
import { withDuckDbFile } from '../../src/duckdb/lake.js';
import type { Row } from '../../src/duckdb/lake.js';
import { CheckpointStore, type Backfill, type Checkpoint, type SchemaEvent } from '../../src/state/checkpoint-store.js';

export const ITEMS_SQL = `
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
CREATE TABLE items (
  id         int PRIMARY KEY,
  name       text,
  qty        int,
  price      numeric(10,2),
  code       varchar(10),
  flag       char(5),
  at         timestamp,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  deleted_at timestamptz
);
CREATE INDEX items_updated_at_id ON items (updated_at, id);
CREATE TRIGGER touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();
-- Seeded an hour ago: below the commit-safe horizon from the first run on, so the checkpoint passes
-- them at once and a later run never re-reads them (a test then knows which rows a drift touches).
INSERT INTO items (id, name, qty, price, code, flag, at, updated_at)
SELECT g, 'item ' || g, g * 3, g * 1.25, 'C' || g, 'f' || (g % 7), timestamp '2024-02-29 12:00' + g * interval '1 hour 1.5 second',
       clock_timestamp() - interval '1 hour'
FROM generate_series(1, 60) g;
UPDATE items SET deleted_at = updated_at WHERE id % 10 = 0;`;

export interface DriftCase {
  url: string;
  ws: Workspace;
  sql(text: string): Promise<Row[]>;
  /** `pgduck run --once` (plus args) through the CLI, with PGDUCK_FAULT when given. */
  run(args?: string[], fault?: string): Promise<CliResult>;
  /** A sync that must succeed, in this process (runOnce): for the runs a test needs, not the ones it tests the CLI with. */
  sync(args?: string[]): Promise<void>;
  /** Run until the fault kills the process: the pipeline stops between batches. */
  runUntilKilled(fault: string, args?: string[]): Promise<void>;
  cli(args: string[]): Promise<CliResult>;
  duck(sql: string): Promise<Row[]>;
  checkpoint(pipeline?: string): Checkpoint | null;
  events(pipeline?: string): SchemaEvent[];
  backfills(pipeline?: string): Backfill[];
  /** Every source column of every row equal in DuckDB (and no row more or less). */
  assertSynced(table?: string, key?: string[]): Promise<void>;
  cleanup(): void;
}

let counter = 0;

export async function driftCase(pgs: TestPostgres, opts: { policy?: string; batchSize?: number; setup?: string } = {}): Promise<DriftCase> {
  const url = await pgs.createDatabase(`drift_${++counter}`);
  await pgs.query(url, opts.setup ?? ITEMS_SQL);
  const ws = createWorkspace();
  ws.writePipeline(
    'items',
    `source:\n  table: public.items\n  primary_key: id\n${opts.setup ? '' : '  soft_delete: deleted_at\n'}target:\n  table: items\nbatch_size: ${opts.batchSize ?? 10}\n` +
      (opts.policy ? `schema_evolution: ${opts.policy}\n` : ''),
  );
  const store = <T>(fn: (s: CheckpointStore) => T): T => {
    const s = new CheckpointStore(join(ws.stateDir, 'checkpoints.db'));
    try {
      return fn(s);
    } finally {
      s.close();
    }
  };
  const c: DriftCase = {
    url,
    ws,
    sql: async (text) => (await pgs.query(url, text)).rows as Row[],
    run: (args = [], fault) => runCli(['run', '--once', ...args], fault ? { ...ws.env(url), PGDUCK_FAULT: fault } : ws.env(url)),
    sync: async (args = []) => {
      await runOnce(ws, url, args);
    },
    async runUntilKilled(fault, args = []) {
      const res = await c.run(args, fault);
      assert.equal(res.signal, 'SIGKILL', `expected the fault ${fault} to kill the run: ${res.stdout}${res.stderr}`);
    },
    cli: (args) => runCli(args, ws.env(url)),
    duck: (sql) => withDuckDbFile(ws.duckdbPath, (s) => s.all(sql), { readOnly: true }),
    checkpoint: (p = 'items') => store((s) => s.get(p)),
    events: (p = 'items') => store((s) => s.schemaEvents(p)),
    backfills: (p = 'items') => store((s) => s.backfills(p)),
    async assertSynced(table = 'items', key = ['id']) {
      const diff = await compareTables(url, `public.${table}`, ws.duckdbPath, table, key);
      assert.deepEqual(diff.mismatches, [], `${table} differs`);
      assert.equal(diff.duckRows, diff.pgRows, `${table} row count`);
    },
    cleanup: () => ws.cleanup(),
  };
  return c;
}

/** Assert a run succeeded, with its output in the message when not. */
export function assertOk(res: CliResult): void {
  assert.equal(res.code, 0, `run failed:\n${res.stdout}\n${res.stderr}`);
}
