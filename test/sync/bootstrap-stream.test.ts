/**
 * The bootstrap as one streaming read (src/stages/bootstrap-stream.ts), on real Postgres and DuckDB:
 *
 * - 3,000 rows in batches of 100 whose text holds newlines, CRs, quotes and commas are cut at record
 *   boundaries: DuckDB equals Postgres value for value, every batch came from the stream, and on a
 *   fresh target every one skipped its DELETE (keysAbsent).
 * - Rows updated and inserted while the stream runs (between two of its batches) are equal after
 *   the run (the keyset batches after the stream read them) and after the next.
 * - A failure mid-stream ends the stream: no CSV left behind, the checkpoint at the last committed
 *   group; the next run resumes with a new stream from it, keeps the DELETE (the target holds rows),
 *   and ends equal.
 * - Segments: with PGDUCK_STREAM_SEGMENT_SECONDS=0 every stream ends after one file and the next
 *   batch starts a new one; only the first, on the empty target, skips its DELETE. A database whose
 *   statement_timeout (2 s) is shorter than the bootstrap's stream still bootstraps: the stream ends
 *   before the timeout and a new one goes on.
 * - A power cut after the bootstrap's commit, before its checkpoints (DuckDB ahead of an empty
 *   checkpoint): the next run's stream starts from nothing on a target that holds every row, so it
 *   keeps the DELETE; nothing doubled, nothing lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { compareTables } from '../support/compare-tables.js';
import { createWorkspace, runCli } from '../support/workspace.js';
import { assertVerified, readCheckpoint } from '../support/sync-checks.js';
import { Lake } from '../../src/duckdb/lake.js';
import { CheckpointStore } from '../../src/state/checkpoint-store.js';
import { runPipeline, type RunDeps } from '../../src/runner/run-pipeline.js';
import { compilePipeline } from '../../src/runner/compile.js';
import { resolvePipeline } from '../../src/config/resolved-pipeline.js';
import { createLogger } from '../../src/log/logger.js';
import type { BatchState } from '../../src/stages/stage.js';
import { tableSpec } from '../support/table-spec.js';
import { BootstrapStream } from '../../src/stages/bootstrap-stream.js';
import { openCopyCsvStream } from '../../src/postgres/copy-stream.js';

const ROWS = 3000;

let pgs: TestPostgres;
before(async () => {
  pgs = await startPostgres();
});
after(async () => {
  await pgs?.stop();
});

/** Text that needs every kind of CSV quoting, varied by row. */
const NASTY = `CASE g % 6 WHEN 0 THEN 'line' || chr(10) || 'break ' || g WHEN 1 THEN 'a "quoted", word ' || g WHEN 2 THEN 'cr' || chr(13) || chr(10) || 'lf' WHEN 3 THEN '"' WHEN 4 THEN '' ELSE ',' || chr(10) || '"",' END`;

async function table(name: string): Promise<string> {
  const url = await pgs.createDatabase(name);
  await pgs.query(
    url,
    `CREATE TABLE events (id int PRIMARY KEY, note text, other text, amount numeric(10,2), updated_at timestamptz NOT NULL);
     CREATE INDEX ON events (updated_at, id);
     INSERT INTO events SELECT g, ${NASTY}, CASE WHEN g % 5 = 0 THEN NULL ELSE 'x,' || g END, g / 7.0,
       timestamptz '2025-01-01 00:00:00+00' + (g / 3) * interval '1 microsecond' FROM generate_series(1, ${ROWS}) AS g;`,
  );
  return url;
}

/** A stream over the whole table in batches of 100 (id, note, the position as hex), outside any run. */
async function rawStream(url: string, dir: string, extra: { segmentMs?: number } = {}): Promise<BootstrapStream> {
  const copy = await openCopyCsvStream(
    url,
    'test',
    `SELECT id, note, encode(convert_to(updated_at::text, 'UTF8'), 'hex'), encode(convert_to(id::text, 'UTF8'), 'hex') FROM events ORDER BY updated_at, id`,
  );
  return new BootstrapStream({
    copy,
    batchSize: 100,
    parquetDir: dir,
    pipeline: 'events',
    firstSeq: 1,
    from: null,
    trailing: 2,
    keyCount: 1,
    columns: [],
    sourceColumns: [],
    ...extra,
  });
}

async function workspace(url: string) {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-bootstrap-stream-'));
  const duckdbPath = join(dir, 'lake.duckdb');
  const parquetDir = join(dir, 'parquet');
  const store = new CheckpointStore(join(dir, 'state.db'));
  const lake = new Lake();
  const pipeline = resolvePipeline(tableSpec('events', 100), { databaseUrl: url, duckdbPath, parquetDir });
  const deps: RunDeps = { lake, store, log: createLogger({ level: 'silent', format: 'json' }), groupRows: 300 };
  return {
    store,
    /** The run; every batch applied, as the runner reported it. */
    async run(extra: Partial<RunDeps> = {}) {
      const batches: Pick<BatchState, 'seq' | 'rowCount' | 'stream' | 'keysAbsent'>[] = [];
      const summary = await runPipeline(compilePipeline(pipeline), {
        ...deps,
        onBatch: (_p, b) => batches.push({ seq: b.seq, rowCount: b.rowCount, stream: b.stream, keysAbsent: b.keysAbsent }),
        ...extra,
      });
      return { summary, batches };
    },
    compare: () => compareTables(url, 'public.events', duckdbPath, 'events', ['id']),
    csvLeft: () => readdirSync(join(parquetDir, '.tmp', 'events')).filter((f) => f.endsWith('.csv.tmp')),
    async close() {
      await lake.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a bootstrap from nothing streams every batch, skips every DELETE, and equals Postgres value for value; rows changed while it streams are equal after the run', async () => {
  const url = await table('stream_fresh');
  const ws = await workspace(url);
  try {
    const { summary, batches } = await ws.run({
      onStep: async (stage, batch) => {
        if (stage !== 'upsert' || batch !== 4) return;
        // Mid-stream: rows already read, rows not read yet, and new rows; the stream's snapshot has none of it.
        await pgs.query(
          url,
          `UPDATE events SET note = 'changed' || chr(10) || 'mid-stream "' || id, updated_at = now() WHERE id IN (1, 2, 150, 2500, 2999);
           INSERT INTO events SELECT g, 'new,' || chr(10) || g, NULL, g, now() FROM generate_series(${ROWS + 1}, ${ROWS + 20}) AS g;`,
        );
      },
    });
    const streamed = batches.filter((b) => b.stream);
    assert.equal(streamed.length, ROWS / 100, 'the 3,000 rows of the snapshot came as 30 stream batches');
    assert.ok(
      streamed.every((b) => b.rowCount === 100 && b.keysAbsent === true),
      `every stream batch is full and skipped its DELETE: ${JSON.stringify(streamed.filter((b) => b.rowCount !== 100 || !b.keysAbsent))}`,
    );
    assert.deepEqual(
      streamed.map((b) => b.seq),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    // After the stream, keyset batches read what changed meanwhile (5 updated + 20 new rows, all above the stream's horizon).
    const keyset = batches.filter((b) => !b.stream);
    assert.equal(
      keyset.reduce((n, b) => n + b.rowCount, 0),
      25,
    );
    assert.ok(keyset.every((b) => b.keysAbsent !== true));
    assert.equal(summary.bootstrapDone, true);
    assert.deepEqual(await ws.compare(), { pgRows: ROWS + 20, duckRows: ROWS + 20, mismatches: [] });
    assert.deepEqual(ws.csvLeft(), []);

    // The next run: bootstrap done, keyset batches only.
    await pgs.query(url, `UPDATE events SET other = 'again "x"' || chr(13), updated_at = now() WHERE id % 500 = 0`);
    const next = await ws.run();
    assert.ok(next.batches.length > 0 && next.batches.every((b) => !b.stream));
    assert.deepEqual(await ws.compare(), { pgRows: ROWS + 20, duckRows: ROWS + 20, mismatches: [] });
  } finally {
    await ws.close();
  }
});

test('a failure mid-stream ends the stream (no CSV left, checkpoint at the last committed group); the next run resumes with a new stream that keeps the DELETE, and ends equal', async () => {
  const url = await table('stream_failure');
  const ws = await workspace(url);
  try {
    await assert.rejects(
      ws.run({
        onStep: async (stage, batch) => {
          if (stage === 'upsert' && batch === 8) throw new Error('boom at batch 8');
        },
      }),
      /boom at batch 8/,
    );
    assert.deepEqual(ws.csvLeft(), [], 'the cut files not applied were removed');
    const cp = ws.store.get('events');
    // Groups of 300 rows: batches 1–6 committed and checkpointed; 7 (applied in the open group) rolled back.
    assert.deepEqual([cp?.rowsTotal, cp?.batchesTotal, cp?.bootstrapDone], [600, 6, false]);
    assert.deepEqual((await ws.compare()).duckRows, 600);

    const { summary, batches } = await ws.run();
    const streamed = batches.filter((b) => b.stream);
    assert.deepEqual(
      streamed.map((b) => b.seq),
      Array.from({ length: 24 }, (_, i) => i + 7),
      'a new stream from the checkpoint: batches 7–30',
    );
    assert.ok(
      streamed.every((b) => b.keysAbsent === false),
      'the target held rows: every DELETE kept',
    );
    assert.deepEqual([summary.rows, summary.bootstrapDone], [2400, true]);
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
  } finally {
    await ws.close();
  }
});

test('a stop request between two stream batches commits what is applied and removes the files cut ahead; the next run finishes with a new stream', async () => {
  const url = await table('stream_stop');
  const ws = await workspace(url);
  try {
    let stop = false;
    const first = await ws.run({
      shouldStop: () => stop,
      onStep: async (stage, batch) => {
        if (stage === 'checkpoint' && batch === 5) stop = true;
      },
    });
    assert.deepEqual([first.summary.rows, first.summary.bootstrapDone], [500, false]);
    assert.deepEqual(ws.csvLeft(), []);
    const { summary, batches } = await ws.run();
    assert.equal(batches.filter((b) => b.stream).length, 25);
    assert.deepEqual([summary.rows, summary.bootstrapDone], [2500, true]);
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
  } finally {
    await ws.close();
  }
});

test('power cut after the bootstrap committed, before its checkpoints: the new stream starts from nothing on a full target, keeps the DELETE; nothing doubled, nothing lost', async () => {
  const url = await table('stream_crash');
  const ws = createWorkspace();
  try {
    ws.writePipeline(
      'events',
      `source:\n  table: public.events\n  primary_key: id\ntarget:\n  table: events\nbatch_size: 100\nhorizon:\n  margin_ms: 0\nschedule: "* * * * *"\n`,
    );
    const killed = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_FAULT: 'after-commit:1' }, { timeoutMs: 300_000 });
    assert.equal(killed.signal, 'SIGKILL', `${killed.stdout}\n${killed.stderr.slice(-2000)}`);
    assert.equal(readCheckpoint(ws, 'events')?.position ?? null, null, 'no checkpoint written');
    assert.deepEqual((await compareTables(url, 'public.events', ws.duckdbPath, 'events', ['id'])).duckRows, ROWS, 'DuckDB committed every row');

    const res = await runCli(['run', '--once'], { ...ws.env(url), PGDUCK_LOG_FORMAT: 'json', PGDUCK_LOG_LEVEL: 'debug' });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr.slice(-2000)}`);
    const applied = res.stderr
      .split('\n')
      .filter((l) => l.includes('"batch applied"'))
      .map((l) => JSON.parse(l) as { stream?: boolean; keysAbsent?: boolean });
    assert.equal(applied.length, 30);
    assert.ok(
      applied.every((b) => b.stream === true && b.keysAbsent === false),
      'every batch streamed, every DELETE kept',
    );
    await assertVerified(ws, url);
    assert.deepEqual(await compareTables(url, 'public.events', ws.duckdbPath, 'events', ['id']), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
  } finally {
    ws.cleanup();
  }
});

test('segments: a stream ends at its bound and the next batch starts a new one; only the first segment, on the empty target, skips the DELETE', async () => {
  const url = await table('stream_segments');
  const ws = await workspace(url);
  const before = process.env.PGDUCK_STREAM_SEGMENT_SECONDS;
  process.env.PGDUCK_STREAM_SEGMENT_SECONDS = '0';
  try {
    const { summary, batches } = await ws.run();
    assert.equal(batches.length, ROWS / 100);
    assert.ok(
      batches.every((b) => b.stream && b.rowCount === 100),
      'every batch came from a stream',
    );
    assert.deepEqual(
      batches.map((b) => b.keysAbsent),
      [true, ...Array.from({ length: ROWS / 100 - 1 }, () => false)],
      'a new stream is a new snapshot: once the target holds rows, its batches keep the DELETE',
    );
    assert.equal(summary.bootstrapDone, true);
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
    assert.deepEqual(ws.csvLeft(), []);
  } finally {
    if (before === undefined) delete process.env.PGDUCK_STREAM_SEGMENT_SECONDS;
    else process.env.PGDUCK_STREAM_SEGMENT_SECONDS = before;
    await ws.close();
  }
});

test("a database's statement_timeout shorter than the bootstrap does not cancel it: each stream ends before half of it", async () => {
  const url = await table('stream_timeout');
  await pgs.query(url, `ALTER DATABASE "${new URL(url).pathname.slice(1)}" SET statement_timeout = '2s'`);
  const ws = await workspace(url);
  try {
    // ~6 s of applying at 200 ms a batch: one COPY for all of it would be cancelled at 2 s.
    const started = Date.now();
    const { summary, batches } = await ws.run({
      onStep: async (stage) => {
        if (stage === 'upsert') await new Promise((r) => setTimeout(r, 200));
      },
    });
    assert.ok(Date.now() - started > 4000, 'the bootstrap outlasted the statement_timeout');
    assert.equal(summary.bootstrapDone, true);
    assert.ok(batches.filter((b) => b.stream).length >= ROWS / 100 - 1, 'streams read the table');
    assert.ok(batches.filter((b) => b.stream && b.keysAbsent === false).length > 0, 'more than one stream: the later ones keep the DELETE');
    assert.deepEqual(await ws.compare(), { pgRows: ROWS, duckRows: ROWS, mismatches: [] });
  } finally {
    await ws.close();
  }
});

test('the queue is bounded: a stream nobody takes from stops at 2 waiting files (the COPY waits); taken, it yields every row once, in order', async () => {
  const url = await table('stream_queue');
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-stream-queue-'));
  const stream = await rawStream(url, dir);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const files = () => readdirSync(join(dir, '.tmp', 'events')).filter((f) => f.endsWith('.csv.tmp'));
    assert.equal(stream.peakQueued, 2, 'two files wait');
    assert.ok(files().length <= 3, `at most 2 waiting and 1 being cut: ${files().join(', ')}`);
    assert.ok(stream.rowsCut <= 200, `the COPY waits: ${stream.rowsCut} rows cut`);
    const keys: string[] = [];
    for (let file = await stream.take(); file; file = await stream.take()) {
      assert.equal(file.rows, 100);
      keys.push(file.last.key[0]);
      rmSync(file.path);
    }
    assert.equal(keys.length, 30);
    assert.equal(stream.rowsCut, ROWS);
    assert.equal(stream.peakQueued, 2);
    // (updated_at, id) order is id order here: each file ends at the next hundred.
    assert.deepEqual(
      keys,
      Array.from({ length: 30 }, (_, i) => String((i + 1) * 100)),
    );
  } finally {
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a segment that reaches no file boundary by 1.5 × its bound (nobody takes its files) ends where it is: the whole files are kept, nothing else', async () => {
  const url = await table('stream_hard_stop');
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-stream-hard-stop-'));
  const stream = await rawStream(url, dir, { segmentMs: 200 });
  try {
    // Two files wait (the queue is full), so no boundary comes; the hard stop ends the segment at 300 ms.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(stream.cutShort, true, 'the segment ended');
    const files = readdirSync(join(dir, '.tmp', 'events')).sort();
    assert.deepEqual(files, ['0000000001.csv.tmp', '0000000002.csv.tmp'], 'the two whole files, no partial one');
    const taken = [];
    for (let file = await stream.take(); file; file = await stream.take()) taken.push([file.seq, file.rows, file.last.key[0], file.short]);
    assert.deepEqual(taken, [
      [1, 100, '100', false],
      [2, 100, '200', false],
    ]);
  } finally {
    await stream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
