/**
 * The parallel bootstrap (`bootstrap: { parallel: n }`, src/stages/parallel-bootstrap.ts), on real
 * Postgres and DuckDB:
 *
 * - 2,500 rows under a composite key (region, id), runs of 30 rows sharing one updated_at (so range
 *   boundaries fall inside runs of equal cursors, and ids 990…1019 of one region, whose text order
 *   is not their order, straddle the first), batch_size 500: parallel 3 reads 3 ranges of one
 *   snapshot (1,000 + 1,000 + 500 rows) and yields exactly what parallel 1 (one stream) yields: the
 *   same batches with the same positions, the same Parquet files with the same rows, the same target,
 *   equal to Postgres; every DELETE skipped on the fresh target (keys unique across the ranges). Rows
 *   changed afterwards are read by the next run. No pgduck session is left in pg_stat_activity.
 * - A later range whose connection is terminated mid-read: the run takes range 0's files, then goes
 *   on serially from the last applied batch; the target ends equal, checkpoint and history
 *   consistent, no CSV left, no session left.
 * - A failure while the later ranges hold cut files: all of them removed, no session left, nothing
 *   committed past the group; the next run bootstraps again in ranges and ends equal.
 * - A range that cannot connect (a role's connection limit): the ranges opened are closed and one
 *   stream reads the table.
 * - A range's NOWAIT lock behind a DDL queued on the exporter's lock fails at once (55P03).
 * - Segments (PGDUCK_STREAM_SEGMENT_SECONDS=0): each range ends after one file; every segment starts
 *   a new parallel split of the rest; the batches are still the serial stream's.
 * - A table of one batch is read by one stream (no split).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { Lake, withDuckDbFile } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline, type RunDeps } from '../../src/runner/run-pipeline.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { createLogger } from '../../src/log/logger.js';
import type { BatchState } from '../../src/stages/stage.js';
import type { PipelineSpec } from '../../src/config/pipeline-spec.js';
import { tableSpec } from '../support/table-spec.js';
import { exportSnapshot } from '../../src/postgres/export-snapshot.js';
import { openCopyCsvStream } from '../../src/postgres/copy-stream.js';

const ROWS = 2500;
const BATCH = 500;

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** `pad`: bytes of filler per row, so a range's rows outgrow the socket buffers (its COPY is still running when a test ends it). */
async function table(name: string, rows = ROWS, pad = 0): Promise<string> {
  const url = await pgs.createDatabase(name);
  await pgs.query(
    url,
    `CREATE TABLE lines (region text NOT NULL, id int NOT NULL, note text, updated_at timestamptz NOT NULL, PRIMARY KEY (region, id));
     CREATE INDEX ON lines (updated_at, region, id);
     INSERT INTO lines SELECT chr(65 + g % 2), g, 'n,' || chr(10) || g || repeat('x', ${pad}),
       timestamptz '2025-01-01 00:00:00+00' + (g / 30) * interval '1 microsecond' FROM generate_series(1, ${rows}) AS g;`,
  );
  return url;
}

type Applied = Pick<BatchState, 'seq' | 'rowCount' | 'from' | 'last' | 'keysAbsent'> & { stream: boolean };

async function workspace(url: string, parallel: number, batchSize = BATCH) {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-parallel-bootstrap-'));
  const duckdbPath = join(dir, 'lake.duckdb');
  const parquetDir = join(dir, 'parquet');
  const store = new CheckpointStore(join(dir, 'state.db'));
  const lake = new Lake();
  const base = tableSpec('lines', batchSize);
  const spec: PipelineSpec = { ...base, source: { ...base.source, primaryKey: ['region', 'id'] }, bootstrap: { parallel } };
  const pipeline = resolvePipeline(spec, { databaseUrl: url, duckdbPath, parquetDir });
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: (text) => logs.push(JSON.parse(text) as Record<string, unknown>) });
  const deps: RunDeps = { lake, store, log, groupRows: 1000 };
  return {
    store,
    logs,
    async run(extra: Partial<RunDeps> = {}) {
      const batches: Applied[] = [];
      const summary = await runPipeline(compilePipeline(pipeline), {
        ...deps,
        onBatch: (_p, b) =>
          batches.push({ seq: b.seq, rowCount: b.rowCount, from: b.from, last: b.last, keysAbsent: b.keysAbsent, stream: b.stream !== undefined }),
        ...extra,
      });
      return { summary, batches };
    },
    compare: () => compareTables(url, 'public.lines', duckdbPath, 'lines', ['region', 'id']),
    csvLeft: () => readdirSync(join(parquetDir, '.tmp', 'lines')).filter((f) => f.endsWith('.csv.tmp')),
    /** Each batch file: its name, and its rows (region, id, note, updated_at) in key order as one text. */
    history: () =>
      withDuckDbFile(
        duckdbPath,
        async (s) => {
          const files = readdirSync(join(parquetDir, 'lines'))
            .filter((f) => f.endsWith('.parquet'))
            .sort();
          const out: [string, number, string][] = [];
          for (const f of files) {
            const [row] = await s.all(
              `SELECT count(*)::INT AS n, md5(string_agg(concat_ws('|', region, id, note, updated_at), ',' ORDER BY updated_at, region, id)) AS digest FROM read_parquet('${join(parquetDir, 'lines', f)}')`,
            );
            out.push([f, Number(row.n), String(row.digest)]);
          }
          return out;
        },
        { readOnly: true },
      ),
    started: () => logs.filter((l) => l.msg === 'parallel bootstrap started'),
    async close() {
      await lake.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** pgduck's sessions on the database, after they had a moment to end. */
async function pgduckSessions(url: string): Promise<string[]> {
  const db = new URL(url).pathname.slice(1);
  for (let i = 0; ; i++) {
    const res = await pgs.query(
      url,
      `SELECT application_name AS app FROM pg_stat_activity WHERE datname = '${db}' AND application_name LIKE 'pgduck%' AND pid <> pg_backend_pid()`,
    );
    if (res.rows.length === 0 || i >= 20) return res.rows.map((r) => String(r.app));
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('parallel 3 yields what one stream yields: the same batches and positions, the same history, the same target, equal to Postgres; no session left', async () => {
  const url = await table('parallel_same');
  const serial = await workspace(url, 1);
  const parallel = await workspace(url, 3);
  try {
    const one = await serial.run();
    const three = await parallel.run();
    assert.deepEqual(serial.started(), [], 'parallel 1: no split');
    const [split] = parallel.started();
    assert.deepEqual([split?.rows, split?.ranges, split?.firstSeqs], [ROWS, 3, [1, 3, 5]], 'three ranges: 1,000 + 1,000 + 500 rows');

    assert.equal(one.batches.length, ROWS / BATCH);
    assert.deepEqual(three.batches, one.batches, 'batch for batch: seq, rows, from, last, every DELETE skipped');
    assert.ok(three.batches.every((b) => b.stream && b.keysAbsent === true));
    // Range 0 ends inside a run of equal cursors: the next range's first row shares its last row's cursor.
    const end = three.batches[1].last;
    const sharing = await pgs.query(url, `SELECT count(*)::int AS n FROM lines WHERE updated_at = $1 AND (updated_at, region, id) > ($1, $2, $3)`, [
      end?.cursor,
      ...(end?.key ?? []),
    ]);
    assert.ok(sharing.rows[0].n > 0, `a row after ${JSON.stringify(end)} shares its cursor`);
    assert.deepEqual([three.summary.rows, three.summary.bootstrapDone], [ROWS, true]);
    assert.deepEqual(parallel.store.get('lines')?.position, serial.store.get('lines')?.position);
    assert.deepEqual(await parallel.history(), await serial.history(), 'the same Parquet files with the same rows');
    assert.deepEqual(await parallel.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(await serial.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(parallel.csvLeft(), []);
    assert.deepEqual(await pgduckSessions(url), [], 'every stream, range and snapshot connection ended');

    // Changed after the bootstrap: the next (incremental) run reads them.
    await pgs.query(
      url,
      `UPDATE lines SET note = 'after', updated_at = now() WHERE id % 400 = 0;
       INSERT INTO lines SELECT 'Z', g, 'new', now() FROM generate_series(1, 30) AS g;`,
    );
    const next = await parallel.run();
    assert.ok(next.batches.every((b) => !b.stream));
    assert.equal(
      next.batches.reduce((n, b) => n + b.rowCount, 0),
      Math.floor(ROWS / 400) + 30,
    );
    assert.deepEqual(await parallel.compare(), { pgRows: ROWS + 30, duckRows: ROWS + 30, mismatches: [] });
    assert.deepEqual(await pgduckSessions(url), []);
  } finally {
    await serial.close();
    await parallel.close();
  }
});

test('a later range whose connection is ended mid-read: range 0 is applied, the run goes on serially from there, and ends equal with a consistent checkpoint', async () => {
  // Batches of 100 and 16 KB a row: each range (900 rows, ~14 MB) outgrows its 2 waiting files and the
  // socket buffers (loopback's grow to several MB), so its COPY is still running when its session is ended.
  const url = await table('parallel_failure', ROWS, 16000);
  const serial = await workspace(url, 1, 100);
  const ws = await workspace(url, 3, 100);
  try {
    let killed = 0;
    const { summary, batches } = await ws.run({
      onStep: async (stage, seq) => {
        // As soon as batch 1 is read: the ranges started with it.
        if (stage !== 'parquet' || seq !== 1) return;
        // The ranges after the first: their COPY has a lower bound (`) > (`); range 0's starts at the table's start.
        const res = await pgs.query(
          url,
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'pgduck:lines:stream' AND query LIKE '%) > (%'`,
        );
        killed = Number(res.rows[0].n);
      },
    });
    assert.equal(killed, 2, 'ranges 1 and 2 were reading');
    assert.equal(ws.logs.filter((l) => String(l.msg).startsWith('a parallel bootstrap range failed')).length, 1);
    assert.equal(ws.started().length, 1, 'after the failure, serial streams only');
    // The same batches as one stream: range 0's nine files, then a serial stream from batch 10.
    const one = await serial.run();
    assert.deepEqual(
      batches.map(({ keysAbsent: _k, ...b }) => b),
      one.batches.map(({ keysAbsent: _k, ...b }) => b),
    );
    assert.deepEqual([summary.rows, summary.bootstrapDone], [ROWS, true]);
    const cp = ws.store.get('lines');
    assert.deepEqual([cp?.rowsTotal, cp?.batchesTotal, cp?.position], [ROWS, ROWS / 100, serial.store.get('lines')?.position]);
    assert.deepEqual(await ws.history(), await serial.history());
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(ws.csvLeft(), []);
    assert.deepEqual(await pgduckSessions(url), []);
  } finally {
    await serial.close();
    await ws.close();
  }
});

test('a failure while later ranges hold files: every file not applied removed, no session left, the checkpoint at the last committed group; the next run ends equal', async () => {
  const url = await table('parallel_stop');
  const ws = await workspace(url, 3);
  try {
    await assert.rejects(
      ws.run({
        onStep: async (stage, seq) => {
          // Batch 2 is range 0's last: ranges 1 and 2 have cut their files meanwhile.
          if (stage === 'upsert' && seq === 2) {
            for (let i = 0; i < 50 && ws.csvLeft().length < 3; i++) await new Promise((r) => setTimeout(r, 100));
            assert.ok(ws.csvLeft().length >= 3, `later ranges' files wait: ${ws.csvLeft().join(', ')}`);
            throw new Error('boom at batch 2');
          }
        },
      }),
      /boom at batch 2/,
    );
    assert.deepEqual(ws.csvLeft(), [], 'the files cut ahead by every range were removed');
    assert.deepEqual(await pgduckSessions(url), []);
    const cp = ws.store.get('lines');
    // Groups of 1,000 rows: batch 1 applied in the open group, rolled back with batch 2.
    assert.deepEqual([cp?.rowsTotal ?? 0, cp?.bootstrapDone ?? false], [0, false]);
    const { summary, batches } = await ws.run();
    assert.deepEqual(
      batches.map((b) => [b.seq, b.rowCount, b.stream]),
      [1, 2, 3, 4, 5].map((seq) => [seq, BATCH, true]),
    );
    assert.deepEqual([summary.rows, summary.bootstrapDone], [ROWS, true]);
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(await pgduckSessions(url), []);
  } finally {
    await ws.close();
  }
});

test('a range that cannot connect (the role’s connection limit reached): the ranges opened are closed, the bootstrap goes on as one stream, equal', async () => {
  const url = await table('parallel_connlimit');
  // The run's session, the export and range 0 fit; range 1 is the role's fourth connection.
  await pgs.query(url, `CREATE ROLE pgduck_limited LOGIN PASSWORD 'limited' CONNECTION LIMIT 3; GRANT SELECT ON lines TO pgduck_limited`);
  const limited = new URL(url);
  limited.username = 'pgduck_limited';
  limited.password = 'limited';
  const ws = await workspace(limited.toString(), 3);
  try {
    const { summary, batches } = await ws.run();
    assert.equal(ws.logs.filter((l) => String(l.msg).startsWith('a parallel bootstrap range could not start')).length, 1);
    assert.deepEqual(ws.started(), [], 'no ranges started: one stream read the table');
    assert.deepEqual(
      batches.map((b) => [b.seq, b.rowCount, b.stream]),
      [1, 2, 3, 4, 5].map((seq) => [seq, BATCH, true]),
    );
    assert.deepEqual([summary.rows, summary.bootstrapDone], [ROWS, true]);
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(ws.csvLeft(), []);
    assert.deepEqual(await pgduckSessions(url), []);
  } finally {
    await ws.close();
    await pgs.query(url, `DROP OWNED BY pgduck_limited; DROP ROLE pgduck_limited`);
  }
});

test('a range locks the table NOWAIT in the snapshot: behind a DDL queued on the exporter’s lock it fails at once (55P03) instead of waiting on a waiter', async () => {
  const url = await table('parallel_nowait', 10);
  const snapshot = await exportSnapshot(url, 'test:snapshot');
  let alter: Promise<unknown> | null = null;
  try {
    await snapshot.query('SELECT count(*) FROM lines'); // the exporter now holds ACCESS SHARE on lines
    alter = pgs.query(url, 'ALTER TABLE lines ADD COLUMN later int'); // queued behind it
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await assert.rejects(
      openCopyCsvStream(url, 'test:range', 'SELECT id FROM lines', { snapshot: snapshot.id, lock: '"public"."lines"' }),
      (err: Error & { code?: string }) => err.code === '55P03',
    );
    assert.ok(Date.now() - started < 5000, 'no wait');
  } finally {
    await snapshot.close();
    await alter;
  }
  // Without the DDL the range opens in the snapshot and reads it.
  const again = await exportSnapshot(url, 'test:snapshot');
  try {
    const copy = await openCopyCsvStream(url, 'test:range', 'SELECT id FROM lines ORDER BY id', { snapshot: again.id, lock: '"public"."lines"' });
    let text = '';
    for await (const chunk of copy.stream) text += String(chunk);
    await copy.close();
    assert.equal(text.trim().split('\n').length, 10);
  } finally {
    await again.close();
  }
  assert.deepEqual(await pgduckSessions(url), []);
});

test('segments: each range ends after one file; every segment splits the rest again; the batches are still the serial stream’s', async () => {
  const url = await table('parallel_segments');
  const serial = await workspace(url, 1);
  const ws = await workspace(url, 3);
  const saved = process.env.PGDUCK_STREAM_SEGMENT_SECONDS;
  process.env.PGDUCK_STREAM_SEGMENT_SECONDS = '0';
  try {
    const { summary, batches } = await ws.run();
    const one = await serial.run();
    assert.deepEqual(
      batches.map(({ keysAbsent: _k, ...b }) => b),
      one.batches.map(({ keysAbsent: _k, ...b }) => b),
    );
    assert.ok(batches.every((b) => b.stream));
    // Rows left at each batch: 2,500 → 3 ranges of 1,000/1,000/500; 2,000 → 2 of 1,000; 1,500 → 3 of 500; 1,000 → 2 of 500; 500 → one stream.
    assert.deepEqual(
      ws.started().map((l) => l.ranges),
      [3, 2, 3, 2],
    );
    assert.deepEqual([summary.rows, summary.bootstrapDone], [ROWS, true]);
    assert.deepEqual(await ws.history(), await serial.history());
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(ws.csvLeft(), []);
    assert.deepEqual(await pgduckSessions(url), []);
  } finally {
    if (saved === undefined) delete process.env.PGDUCK_STREAM_SEGMENT_SECONDS;
    else process.env.PGDUCK_STREAM_SEGMENT_SECONDS = saved;
    await serial.close();
    await ws.close();
  }
});

test('a table of one batch is read by one stream: no split', async () => {
  const url = await table('parallel_small', 400);
  const ws = await workspace(url, 4);
  try {
    const { summary, batches } = await ws.run();
    assert.deepEqual(ws.started(), []);
    assert.deepEqual(
      batches.map((b) => [b.seq, b.rowCount, b.stream]),
      [[1, 400, true]],
    );
    assert.equal(summary.bootstrapDone, true);
    assert.deepEqual(await ws.compare(), { pgRows: 400, duckRows: 400, mismatches: [] });
    assert.deepEqual(await pgduckSessions(url), []);
  } finally {
    await ws.close();
  }
});
