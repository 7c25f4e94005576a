/**
 * What `pgduck status` says about each pipeline, from the state store alone (never the DuckDB
 * file, which a running `pgduck run` may hold): its state, the rows in its target, its last run,
 * its last error and the next run. Pure: `pipelineStatus` derives, `renderStatus` prints (fits 100
 * columns: one row per pipeline, then the error and its fix wrapped below it).
 *
 * States: idle, running, backing-off (a transient failure, retried at `retryAt`: will heal),
 * blocked (needs-action or config: needs a person; the fix says what to do), disabled (enabled:
 * false in its file), failed (the last run failed and no runner is up to retry it: the kind says
 * whether running again can help), never-run.
 */
import type { Checkpoint, ReconcileRecord, RunnerState } from '../state/checkpoint-store.js';
import { decodeFailure } from '../errors/recorded-failure.js';
import { goneOutcome } from './gone-outcome.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import type { ErrorKind } from '../errors/pgduck-error.js';

export type PipelineState = 'idle' | 'running' | 'backing-off' | 'blocked' | 'disabled' | 'failed' | 'never-run';

export interface StatusInput {
  pipeline: string;
  checkpoint: Checkpoint | null;
  /** The service's state of it, when a runner is up (null otherwise). */
  runner: RunnerState | null;
  /** Is a `pgduck run` up on this state directory? null: cannot tell (its lock is from another host). */
  runnerUp: boolean | null;
  /** From its file; null when no valid file defines it (removed, or invalid). */
  file: { enabled: boolean } | null;
  /** The next cron fire time of its schedule (ISO), when it has a valid file. */
  nextTick: string | null;
  /** Its last `pgduck reconcile` (null: never reconciled). */
  lastReconcile?: ReconcileRecord | null;
  /** The next tick of its `reconcile:` schedule (ISO), when its file has one. */
  nextReconcile?: string | null;
}

export interface PipelineStatus {
  pipeline: string;
  state: PipelineState;
  /** One phrase: "backing off until 2026-…Z (attempt 3)", "blocked (config AUTH_FAILED)", "failed (transient)"… */
  summary: string;
  /** backing-off: when it retries; blocked: when the probe is due (null: only when its file or state changes). */
  retryAt: string | null;
  /** The failure streak's first failure and length, while failing under a runner. */
  failingSince: string | null;
  attempts: number;
  /** Rows in the DuckDB table, as counted after the last run that changed it (null: never counted). */
  rowsInTarget: number | null;
  /** Rows applied over all runs (an updated row counts again). */
  rowsSynced: number;
  bootstrapDone: boolean;
  lastRun: { at: string; status: string | null; durationMs: number | null; rows: number | null; bytes: number | null } | null;
  lastError: { message: string; kind: ErrorKind | null; code: string | null; fix: string | null } | null;
  /** When it runs next, if a runner is up: the retry, the probe, or the next tick. */
  nextRun: string | null;
  /**
   * The last reconcile: when, what it removed or marked, whether a stop ended it, or why it failed
   * (`error` with the failure's kind and code in front: `[transient PG_UNREACHABLE] …`).
   */
  lastReconcile: Pick<ReconcileRecord, 'at' | 'durationMs' | 'gone' | 'removed' | 'marked' | 'mode' | 'stopped' | 'rowsRead' | 'error'> | null;
  /** When the service reconciles it next (its `reconcile:` schedule), if a runner is up and it is enabled. */
  nextReconcile: string | null;
}

export function pipelineStatus(input: StatusInput): PipelineStatus {
  const cp = input.checkpoint;
  const recorded = cp?.lastError ? decodeFailure(cp.lastError) : null;
  const r = input.runnerUp === false ? null : input.runner;
  const lastError = r?.message
    ? { message: r.message, kind: (r.kind as ErrorKind | null) ?? null, code: r.code, fix: r.fix }
    : recorded
      ? { message: recorded.message, kind: recorded.kind, code: recorded.code, fix: null }
      : null;
  let state: PipelineState;
  let summary: string;
  let nextRun: string | null = null;
  if (input.file && !input.file.enabled) {
    state = 'disabled';
    summary = 'disabled (enabled: false)';
  } else if (r && r.state === 'backing-off') {
    state = 'backing-off';
    summary = `backing off until ${r.retryAt ?? '?'} (attempt ${r.attempts}, ${r.kind ?? '?'} ${r.code ?? ''})`.replace(' )', ')');
    nextRun = r.retryAt;
  } else if (r && r.state === 'blocked') {
    state = 'blocked';
    summary = `blocked (${r.kind ?? '?'} ${r.code ?? '?'})`;
    nextRun = r.retryAt;
  } else if (r && r.state === 'running') {
    state = 'running';
    summary = r.attempts > 0 ? `running (retry ${r.attempts})` : 'running';
  } else if (cp?.lastStatus === 'failed') {
    state = 'failed';
    summary = recorded?.kind ? `${KIND_OUTCOMES[recorded.kind].status} ${recorded.code}` : 'failed';
    if (r) nextRun = input.nextTick;
  } else if (!cp || cp.lastRunAt === null) {
    state = 'never-run';
    summary = 'never run';
    if (r) nextRun = input.nextTick;
  } else {
    state = 'idle';
    summary = 'idle';
    if (r) nextRun = input.nextTick;
  }
  if (r && state === 'running') nextRun = null;
  return {
    pipeline: input.pipeline,
    state,
    summary,
    retryAt: r && (state === 'backing-off' || state === 'blocked') ? r.retryAt : null,
    failingSince: r?.since ?? null,
    attempts: r?.attempts ?? 0,
    rowsInTarget: cp?.targetRows ?? null,
    rowsSynced: cp?.rowsTotal ?? 0,
    bootstrapDone: cp?.bootstrapDone ?? false,
    lastRun: cp?.lastRunAt ? { at: cp.lastRunAt, status: cp.lastStatus, durationMs: cp.lastRunMs, rows: cp.lastRunRows, bytes: cp.lastRunBytes } : null,
    lastError: state === 'idle' || state === 'never-run' ? null : lastError,
    nextRun,
    lastReconcile: input.lastReconcile
      ? (({ at, durationMs, gone, removed, marked, mode, stopped, rowsRead, error, errorKind, errorCode }) => ({
          at,
          durationMs,
          gone,
          removed,
          marked,
          mode,
          stopped,
          rowsRead,
          // A failure with its kind, as a run's is shown: `[transient PG_UNREACHABLE] …`.
          error: error !== null && errorKind ? `[${errorKind} ${errorCode}] ${error}` : error,
        }))(input.lastReconcile)
      : null,
    nextReconcile: r && state !== 'disabled' ? (input.nextReconcile ?? null) : null,
  };
}

/** `2026-01-05T10:31:12.004Z` → `10:31:12` on the day of `now`, else `2026-01-05 10:31`; always UTC. */
export function shortTime(iso: string | null, now: Date): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString();
  return text.slice(0, 10) === now.toISOString().slice(0, 10) ? text.slice(11, 19) : `${text.slice(0, 10)} ${text.slice(11, 16)}`;
}

export function duration(ms: number | null): string {
  if (ms === null) return '?';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** Wrap at spaces to `width`, every line indented by `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  const room = Math.max(20, width - indent.length);
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(indent + line);
      line = '';
    }
    // A word longer than a line (a URL, a path) is cut into pieces.
    let w = word;
    while (w.length > room) {
      if (line) {
        lines.push(indent + line);
        line = '';
      }
      lines.push(indent + w.slice(0, room));
      w = w.slice(room);
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(indent + line);
  return lines;
}

export interface RunnerInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** null: on another host, cannot tell. */
  up: boolean | null;
}

/** `reconciled 10:31:12 (1.2 s): 39 rows gone from the source, 39 removed` (or `39 marked`), a stop, or the reconcile's failure. */
export function reconcileLine(r: NonNullable<PipelineStatus['lastReconcile']>, now: Date): string {
  const when = `reconciled ${shortTime(r.at, now)} (${duration(r.durationMs)})`;
  if (r.error) return `${when}: failed: ${r.error}`;
  if (r.stopped) return `${when}: stopped before it finished${r.gone === 0 ? '' : ` (${r.gone} row${r.gone === 1 ? '' : 's'} gone, ${goneOutcome(r)})`}`;
  if (r.gone === 0) return `${when}: no hard deletes`;
  return `${when}: ${r.gone} row${r.gone === 1 ? '' : 's'} gone from the source, ${goneOutcome(r)}`;
}

/** The table, at most `width` columns wide (100 by default). Times are UTC. */
export function renderStatus(statuses: PipelineStatus[], runner: RunnerInfo | null, opts: { width?: number; now: Date }): string {
  const width = Math.max(80, opts.width ?? 100);
  const out: string[] = [];
  if (runner && runner.up !== false) {
    out.push(
      `runner: pgduck run, pid ${runner.pid} on ${runner.host}, up since ${runner.startedAt}${runner.up === null ? ' (another host: not checked)' : ''}`,
    );
  } else {
    out.push('runner: none (no pgduck run on this state directory): states are as the last run left them');
  }
  if (statuses.length === 0) {
    out.push('no pipelines');
    return `${out.join('\n')}\n`;
  }
  const nameW = Math.min(24, Math.max(8, ...statuses.map((s) => s.pipeline.length)));
  const rowsW = 11;
  const lastW = 27;
  const nextW = 10;
  const stateW = width - nameW - rowsW - lastW - nextW - 4;
  out.push(`${fit('PIPELINE', nameW)} ${fit('STATE', stateW)} ${'ROWS'.padStart(rowsW)} ${fit('LAST RUN (UTC)', lastW)} ${'NEXT RUN'}`);
  for (const s of statuses) {
    const rows = s.rowsInTarget ?? (s.rowsSynced > 0 ? `~${s.rowsSynced}` : '—');
    const last = s.lastRun
      ? `${shortTime(s.lastRun.at, opts.now)} ${s.lastRun.status ?? ''} ${duration(s.lastRun.durationMs)}${s.lastRun.rows ? ` +${s.lastRun.rows}` : ''}`
      : '—';
    const next = s.state === 'running' ? 'now' : shortTime(s.nextRun, opts.now);
    out.push(`${fit(s.pipeline, nameW)} ${fit(s.summary, stateW)} ${String(rows).padStart(rowsW)} ${fit(last, lastW)} ${next}`);
    if (s.lastError) {
      const kind = s.lastError.kind ? `[${s.lastError.kind}${s.lastError.code ? ` ${s.lastError.code}` : ''}] ` : '';
      const since =
        s.failingSince && s.attempts > 0 ? ` (failing since ${shortTime(s.failingSince, opts.now)}, ${s.attempts} attempt${s.attempts === 1 ? '' : 's'})` : '';
      out.push(...wrap(`${kind}${s.lastError.message}${since}`, width, '    '));
      if (s.lastError.fix) out.push(...wrap(`fix: ${s.lastError.fix}`, width, '    '));
    }
    if (s.lastReconcile) out.push(...wrap(reconcileLine(s.lastReconcile, opts.now), width, '    '));
    if (s.nextReconcile) out.push(`    next reconcile ${shortTime(s.nextReconcile, opts.now)}${s.lastReconcile ? '' : ' (never reconciled yet)'}`);
  }
  out.push('ROWS: rows in the DuckDB table after the last run that changed it (~: rows synced, not counted yet)');
  return `${out.join('\n')}\n`;
}
