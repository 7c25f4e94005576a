/**
 * History retention, decided without a file system: which history files `pgduck history prune`
 * deletes for a list of file descriptors, a checkpoint and `history.keep` (src/history/plan-prune.ts),
 * the one rule it shares with `pgduck replay` (src/replay/complete-passes.ts), and the spellings of
 * `history.keep` in a pipeline file (validated with positions, inherited from _defaults.yml).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPipelines } from '../../src/config/load-pipelines.js';
import { formatProblems } from '../../src/config/format-problems.js';
import { parseKeep, type KeepPolicy } from '../../src/history/keep-policy.js';
import { planPrune, type PruneFile } from '../../src/history/plan-prune.js';
import { completePasses } from '../../src/replay/complete-passes.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const DAY = 86_400_000;

/** A batch file: `start` read from the beginning, `drained` came back short, `passDone` read after its pass had ended. */
function batch(seq: number, m: { start?: boolean; drained?: boolean; passDone?: boolean; ageDays?: number; legacy?: boolean } = {}): PruneFile {
  return {
    path: `parquet/t/${String(seq).padStart(10, '0')}.parquet`,
    kind: 'batch',
    seq,
    bytes: 1000 + seq,
    mtimeMs: NOW - (m.ageDays ?? 0) * DAY,
    meta: m.legacy ? null : { from: m.start ? null : { cursor: `c${seq}`, key: [String(seq)] }, drained: m.drained ?? false, passDone: m.passDone ?? false },
  };
}
function backfill(seq: number, ageDays = 0): PruneFile {
  return {
    path: `parquet/t/backfill/${String(seq).padStart(10, '0')}.000001.000000000000.parquet`,
    kind: 'backfill',
    seq,
    bytes: 500,
    mtimeMs: NOW - ageDays * DAY,
    meta: null,
  };
}

/**
 * Bootstrap 1–4 (drained at 4), incrementals 5–6 (a backfill run before 6), a reset: a second pass
 * 7–9 (drained at 9, a backfill run before 7), an incremental 10.
 */
function twoPasses(age: (seq: number) => number = () => 0): PruneFile[] {
  return [
    batch(1, { start: true, ageDays: age(1) }),
    batch(2, { ageDays: age(2) }),
    batch(3, { ageDays: age(3) }),
    batch(4, { drained: true, ageDays: age(4) }),
    batch(5, { passDone: true, drained: true, ageDays: age(5) }),
    backfill(6, age(6)),
    batch(6, { passDone: true, drained: true, ageDays: age(6) }),
    backfill(7, age(7)),
    batch(7, { start: true, ageDays: age(7) }),
    batch(8, { ageDays: age(8) }),
    batch(9, { drained: true, ageDays: age(9) }),
    batch(10, { passDone: true, drained: true, ageDays: age(10) }),
  ];
}

const prune = (files: PruneFile[], keep: KeepPolicy, checkpointed: number | null = files[files.length - 1]?.seq ?? null) =>
  planPrune({ pipeline: 't', table: 't', files, checkpointed, keep, now: NOW });
const seqs = (files: PruneFile[]) => files.map((f) => `${f.kind === 'backfill' ? 'b' : f.kind === 'deletes' ? 'd' : ''}${f.seq}`);

/** A deletes file (keys a reconcile found gone): a seq of its own, no pass evidence. */
function deletes(seq: number): PruneFile {
  return { path: `parquet/t/deletes/${String(seq).padStart(10, '0')}.parquet`, kind: 'deletes', seq, bytes: 300, mtimeMs: NOW, meta: null };
}

test('complete passes: each begins with a batch read from the beginning and is proven by a later short batch, newest first', () => {
  assert.deepEqual(completePasses(twoPasses()), [
    { start: 7, provenBy: 9 },
    { start: 1, provenBy: 4 },
  ]);
  // A pass abandoned by a reset before it drained is not complete; the one before it still is.
  const abandoned = [batch(1, { start: true, drained: true }), batch(2, { passDone: true }), batch(3, { start: true }), batch(4)];
  assert.deepEqual(completePasses(abandoned), [{ start: 1, provenBy: 1 }]);
  // A pass's first batch read after the previous pass had ended (passDone) proves that one.
  assert.deepEqual(completePasses([batch(1, { start: true }), batch(2, { start: true, passDone: true })]), [{ start: 1, provenBy: 2 }]);
  // Files written before batches carried metadata prove nothing.
  assert.deepEqual(completePasses([batch(1, { legacy: true }), batch(2, { legacy: true })]), []);
});

test('keep: 1 deletes everything before the newest complete pass, its own backfill batches kept', () => {
  const plan = prune(twoPasses(), { kind: 'passes', passes: 1 });
  assert.equal(plan.cut, 7);
  assert.deepEqual(seqs(plan.remove), ['1', '2', '3', '4', '5', 'b6', '6']);
  assert.deepEqual(seqs(plan.kept), ['b7', '7', '8', '9', '10']);
  assert.equal(plan.bytesFreed, 1001 + 1002 + 1003 + 1004 + 1005 + 500 + 1006);
  assert.equal(plan.bytesKept, 500 + 1007 + 1008 + 1009 + 1010);
  assert.match(
    plan.guarantee,
    /rebuilds t as the runner built it from batch 7 \(the newest complete pass over the source, complete by batch 9\) through batch 10/,
  );
});

test('deletes files: cut with the rest before the newest complete pass, kept after it; they prove no pass', () => {
  // twoPasses() with a reconcile's deletes file after batch 6 (seq 7) and after the second pass (seq 12).
  const files = [
    ...twoPasses().slice(0, 7),
    deletes(7),
    ...twoPasses()
      .slice(7)
      .map((f) => ({ ...f, seq: f.seq + 1 })),
    deletes(12),
  ];
  assert.deepEqual(completePasses(files), completePasses(files.filter((f) => f.kind !== 'deletes')));
  const plan = prune(files, { kind: 'passes', passes: 1 });
  assert.equal(plan.cut, 8);
  assert.deepEqual(seqs(plan.remove), ['1', '2', '3', '4', '5', 'b6', '6', 'd7']);
  assert.deepEqual(seqs(plan.kept), ['b8', '8', '9', '10', '11', 'd12']);
});

test('keep: 2 with two complete passes keeps both; keep: 3 keeps what there is and says so', () => {
  const two = prune(twoPasses(), { kind: 'passes', passes: 2 });
  assert.equal(two.cut, 1);
  assert.deepEqual(two.remove, []);
  const three = prune(twoPasses(), { kind: 'passes', passes: 3 });
  assert.deepEqual(three.remove, []);
  assert.match(three.reason, /the history holds 2/);
});

test('keep: 1 drops an abandoned pass and the pass before the newest complete one', () => {
  const files = [
    batch(1, { start: true, drained: true }),
    batch(2, { passDone: true, drained: true }),
    batch(3, { start: true }), // reset, then reset again before it drained
    batch(4, { start: true }),
    batch(5, { drained: true }),
    batch(6, { passDone: true }),
  ];
  const plan = prune(files, { kind: 'passes', passes: 1 });
  assert.deepEqual(seqs(plan.remove), ['1', '2', '3']);
  assert.deepEqual(seqs(plan.kept), ['4', '5', '6']);
});

test('a pass is complete only on the proof of a checkpointed batch: a written, unapplied batch proves nothing and is never deleted', () => {
  // Batch 9 (the one that drained the second pass) was written but its run crashed before the checkpoint.
  const plan = prune(twoPasses().slice(0, 11), { kind: 'passes', passes: 1 }, 8);
  assert.deepEqual(plan.passes, [{ start: 1, provenBy: 4 }]);
  assert.equal(plan.cut, 1);
  assert.deepEqual(plan.remove, []);
  // Once checkpointed, it counts.
  assert.equal(prune(twoPasses().slice(0, 11), { kind: 'passes', passes: 1 }, 9).cut, 7);
});

test('no safe cut: nothing is deleted and the reason says why', () => {
  const bootstrapping = [batch(1, { start: true }), batch(2), batch(3)];
  const none = prune(bootstrapping, { kind: 'passes', passes: 1 });
  assert.deepEqual(none.remove, []);
  assert.equal(none.cut, null);
  assert.match(none.reason, /no complete pass over the source/);
  assert.match(none.guarantee, /applies every file \(1…3\)/);

  const legacy = prune([batch(1, { legacy: true }), batch(2, { legacy: true })], { kind: 'passes', passes: 1 });
  assert.deepEqual(legacy.remove, []);
  assert.match(legacy.reason, /predate the metadata/);

  const noCheckpoint = prune(twoPasses(), { kind: 'passes', passes: 1 }, null);
  assert.deepEqual(noCheckpoint.remove, []);
  assert.match(noCheckpoint.reason, /no checkpoint of t/);

  const all = prune(twoPasses(), { kind: 'all' });
  assert.deepEqual(all.remove, []);
  assert.match(all.reason, /`all`/);

  assert.deepEqual(prune([], { kind: 'passes', passes: 1 }).remove, []);
});

test('keep: Nd keeps the files of the last N days and the complete pass they build on', () => {
  // Batches 1–6 are 10 days old, the second pass (7–10) is from today.
  const files = twoPasses((seq) => (seq <= 6 ? 10 : 0));
  assert.deepEqual(seqs(prune(files, { kind: 'days', days: 7 }).remove), ['1', '2', '3', '4', '5', 'b6', '6']);
  assert.deepEqual(prune(files, { kind: 'days', days: 30 }).remove, []);
  // Only batch 10 is recent: it builds on the pass begun at 7, which stays whole.
  const old = twoPasses((seq) => (seq < 10 ? 10 : 0));
  const plan = prune(old, { kind: 'days', days: 7 });
  assert.equal(plan.cut, 7);
  assert.match(plan.reason, /from batch 10\) and the complete pass they build on \(from batch 7\)/);
  // Batch 5 is recent (it was written again): everything from the pass it builds on stays.
  assert.deepEqual(
    prune(
      twoPasses((seq) => (seq === 5 ? 0 : 10)),
      { kind: 'days', days: 7 },
    ).remove,
    [],
  );
  // Nothing recent at all: the newest complete pass is still what replay needs.
  assert.equal(
    prune(
      twoPasses(() => 100),
      { kind: 'days', days: 7 },
    ).cut,
    7,
  );
  // A recent file before every complete pass: nothing can go.
  const early = [batch(1, { start: true, ageDays: 10 }), batch(2, { ageDays: 0 }), batch(3, { start: true, drained: true, ageDays: 0 })];
  const e = prune(early, { kind: 'days', days: 7 });
  assert.deepEqual(e.remove, []);
  assert.match(e.reason, /precedes every complete pass/);
});

test('an interrupted prune (any part of its deletions done) leaves a history whose newest complete pass is the same', () => {
  for (const keep of [{ kind: 'passes', passes: 1 } as const, { kind: 'days', days: 7 } as const]) {
    const files = twoPasses((seq) => (seq <= 6 ? 10 : 0));
    const plan = prune(files, keep);
    assert.ok(plan.remove.length > 0);
    const before = completePasses(files)[0];
    for (let done = 0; done <= plan.remove.length; done++) {
      const gone = new Set(plan.remove.slice(0, done).map((f) => f.path));
      const left = files.filter((f) => !gone.has(f.path));
      assert.deepEqual(completePasses(left)[0], before, `after ${done} deletions`);
      // And pruning again finishes the job: the same cut, the rest of the files.
      assert.deepEqual(seqs(prune(left, keep).remove), seqs(plan.remove.slice(done)));
    }
  }
});

test('history.keep spellings: passes, days, all; anything else is refused', () => {
  assert.deepEqual(parseKeep(2), { kind: 'passes', passes: 2 });
  assert.deepEqual(parseKeep('2'), { kind: 'passes', passes: 2 });
  assert.deepEqual(parseKeep('30d'), { kind: 'days', days: 30 });
  assert.deepEqual(parseKeep('all'), { kind: 'all' });
  for (const bad of [0, -1, 1.5, '0', '0d', '30 days', 'd', '', 'ALL', null, true, 100_001]) assert.equal(parseKeep(bad), null, JSON.stringify(bad));
});

test('history.keep in a pipeline file: read, validated with positions, inherited from _defaults.yml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgduck-keep-'));
  try {
    const file = (name: string, extra: string) =>
      writeFileSync(join(dir, `${name}.yml`), `source:\n  table: public.${name}\n  primary_key: id\ntarget:\n  table: ${name}\n${extra}`);
    writeFileSync(join(dir, '_defaults.yml'), 'history:\n  keep: 30d\n');
    file('inherits', '');
    file('passes', 'history:\n  keep: 2\n');
    file('everything', 'history:\n  keep: all\n');
    const { specs, problems } = loadPipelines([dir], {});
    assert.deepEqual(problems, []);
    const keepOf = (name: string) => specs.find((s) => s.name === name)?.history?.keep;
    assert.deepEqual(keepOf('inherits'), { kind: 'days', days: 30 });
    assert.deepEqual(keepOf('passes'), { kind: 'passes', passes: 2 });
    assert.deepEqual(keepOf('everything'), { kind: 'all' });

    rmSync(join(dir, '_defaults.yml'));
    file('zero', 'history:\n  keep: 0\n');
    file('words', 'history:\n  keep: 30 days\n');
    file('typo', 'history:\n  kep: 2\n');
    const bad = loadPipelines([dir], {});
    const text = formatProblems(bad.problems);
    assert.match(text, /zero\.yml:7:9 history\.keep: .*1/);
    assert.match(text, /words\.yml:7:9 history\.keep: must match/);
    assert.match(text, /typo\.yml:7:3 history\.kep: unknown key `kep`; did you mean `keep`\?/);
    assert.equal(bad.specs.find((s) => s.name === 'inherits')?.history, undefined, 'no history: keep everything');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
