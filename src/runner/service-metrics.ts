/**
 * The service's Prometheus metrics (prom-client, a registry of its own plus Node's default process
 * metrics), fed by the runner's hooks and read from the scheduler's view at scrape time:
 *
 * - per batch (RunDeps.onBatch, the moment a batch is checkpointed): rows synced, batches, Parquet
 *   bytes written, and the newest cursor synced (for the lag);
 * - per run (the scheduler's onOutcome): runs by outcome, errors by kind and code, retries
 *   scheduled, per-stage durations, the last success;
 * - at scrape time (scheduler.view()): each pipeline's state, the lag, pgduck_healthy.
 *
 * Every series is per pipeline (label `pipeline`). A pipeline the scheduler no longer has (its file
 * removed, or turned invalid) has all its series removed at the next scrape, so dashboards do not
 * keep a ghost. Counters start at 0 when a pipeline is first scheduled (rate() and increase() need a
 * first sample) and count what this process did: they restart at 0 with it, as Prometheus expects.
 * Metric names are listed in the README ("Metrics and health").
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { batchBytes, type BatchState } from '../stages/stage.js';
import type { PipelineOutcome } from './pool.js';
import type { HealthSnapshot, HealthState } from './pipeline-health.js';
import type { PipelineView } from './scheduler.js';
import { cursorClockOf, cursorTimeMs, type CursorClock } from './cursor-time.js';

const STATES: readonly HealthState[] = ['idle', 'running', 'backing-off', 'blocked'];
const OUTCOMES = ['ok', 'failed'] as const;
/** Seconds: a stage of one run lasts from milliseconds (a checkpoint) to minutes (a bootstrap's upserts). */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** What the state store knew of a pipeline when this process started: the lag and last success before its first run here. */
export interface PipelineSeed {
  /** The checkpoint's cursor (exact Postgres text). */
  cursor: string | null;
  /** The last successful run (ms), if the last run succeeded. */
  lastSuccessMs: number | null;
  /** The source columns' base types as the last drift check recorded them (name → format_type), for the cursor's clock. */
  columnTypes?: Record<string, string>;
}

export interface ServiceMetricsOptions {
  view: () => readonly PipelineView[];
  healthy: () => boolean;
  seed?: (pipeline: string) => PipelineSeed;
  now?: () => number;
  /** Told once per pipeline that its timestamp cursor has no known zone (so it has no lag series). */
  warn?: (pipeline: string, message: string) => void;
}

export interface ServiceMetrics {
  readonly registry: Registry;
  onBatch(pipeline: string, batch: Readonly<BatchState>): void;
  onOutcome(outcome: PipelineOutcome, health: Readonly<HealthSnapshot>): void;
  /**
   * Series (at 0) for the pipelines scheduled now, their lag and last success read from the state
   * store before their first run here; the series of pipelines no longer scheduled dropped.
   */
  track(): void;
  /** The text exposition format, after track(). */
  render(): Promise<string>;
  readonly contentType: string;
}

interface Known {
  /** Newest cursor synced: the last batch's, else the checkpoint's at start. */
  cursor: string | null;
  lastSuccessMs: number | null;
  /** Source column → base type: the last batch's catalog read, else the state store's at start. */
  columnTypes: Map<string, string>;
  /** Its missing cursor_timezone was logged (once per pipeline while it is scheduled). */
  zoneWarned: boolean;
  errorLabels: Map<string, { kind: string; code: string }>;
  stages: Set<string>;
}

export function createServiceMetrics(opts: ServiceMetricsOptions): ServiceMetrics {
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const known = new Map<string, Known>();

  const rows = new Counter({
    name: 'pgduck_rows_synced_total',
    help: 'Rows read from Postgres and applied to DuckDB (each batch once it is checkpointed)',
    labelNames: ['pipeline'],
    registers: [registry],
  });
  const batches = new Counter({ name: 'pgduck_batches_total', help: 'Batches applied to DuckDB', labelNames: ['pipeline'], registers: [registry] });
  const bytes = new Counter({
    name: 'pgduck_parquet_bytes_written_total',
    help: 'Bytes of the Parquet history files of the applied batches and of their backfills',
    labelNames: ['pipeline'],
    registers: [registry],
  });
  const runs = new Counter({
    name: 'pgduck_runs_total',
    help: 'Finished runs by outcome (ok, failed)',
    labelNames: ['pipeline', 'outcome'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'pgduck_errors_total',
    help: 'Failed runs by error kind and stable code',
    labelNames: ['pipeline', 'kind', 'code'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'pgduck_retries_total',
    help: 'Retries scheduled after a transient failure (backing off)',
    labelNames: ['pipeline'],
    registers: [registry],
  });
  const stageSeconds = new Histogram({
    name: 'pgduck_stage_duration_seconds',
    help: 'Time one successful run spent in each stage (read: waiting on Postgres)',
    labelNames: ['pipeline', 'stage'],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'pgduck_lag_seconds',
    help: 'Now minus the newest cursor synced (timestamptz, timestamp and date cursors; grows while the source is quiet)',
    labelNames: ['pipeline'],
    registers: [registry],
    collect() {
      this.reset();
      const views = new Map(opts.view().map((v) => [v.pipeline, v]));
      for (const [pipeline, k] of known) {
        const at = k.cursor === null ? null : cursorAt(pipeline, k, k.cursor, views.get(pipeline)?.cursor);
        if (at !== null) this.set({ pipeline }, Math.max(0, (now() - at) / 1000));
      }
    },
  });
  new Gauge({
    name: 'pgduck_last_success_timestamp_seconds',
    help: 'When the last successful run of the pipeline finished (Unix seconds)',
    labelNames: ['pipeline'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [pipeline, k] of known) if (k.lastSuccessMs !== null) this.set({ pipeline }, k.lastSuccessMs / 1000);
    },
  });
  new Gauge({
    name: 'pgduck_pipeline_state',
    help: 'The pipeline state: 1 for the current one (idle, running, backing-off, blocked), 0 for the others',
    labelNames: ['pipeline', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of opts.view()) for (const state of STATES) this.set({ pipeline: v.pipeline, state }, v.health.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pgduck_healthy',
    help: '1 while /healthz answers 200: the scheduler runs and no pipeline is blocked longer than PGDUCK_HEALTH_BLOCKED_SECONDS',
    registers: [registry],
    collect() {
      this.set(opts.healthy() ? 1 : 0);
    },
  });

  /**
   * The cursor's time (src/runner/cursor-time.ts), by its column's type. A type not known yet (no
   * batch, no drift check recorded) reads only as timestamptz: an offset in the text says so.
   */
  const cursorAt = (pipeline: string, k: Known, cursor: string, of: PipelineView['cursor']): number | null => {
    const type = of ? k.columnTypes.get(of.column) : undefined;
    const clock: CursorClock | null = type === undefined ? 'timestamptz' : cursorClockOf(type);
    if (clock === null) return null;
    if (clock !== 'timestamptz' && !of?.timezone) {
      if (!k.zoneWarned) {
        k.zoneWarned = true;
        opts.warn?.(
          pipeline,
          `no pgduck_lag_seconds for ${pipeline}: cursor column "${of?.column}" is ${type} (wall-clock values) and source.cursor_timezone is not set; set it to the writers' time zone`,
        );
      }
      return null;
    }
    return cursorTimeMs(cursor, clock, of?.timezone ?? null);
  };

  const entry = (pipeline: string): Known => {
    let k = known.get(pipeline);
    if (!k) {
      const seed = opts.seed?.(pipeline) ?? { cursor: null, lastSuccessMs: null };
      k = {
        cursor: seed.cursor,
        lastSuccessMs: seed.lastSuccessMs,
        columnTypes: new Map(Object.entries(seed.columnTypes ?? {})),
        zoneWarned: false,
        errorLabels: new Map(),
        stages: new Set(),
      };
      known.set(pipeline, k);
      for (const c of [rows, batches, bytes, retries]) c.inc({ pipeline }, 0);
      for (const outcome of OUTCOMES) runs.inc({ pipeline, outcome }, 0);
    }
    return k;
  };

  /** The scheduler's pipelines get series (at 0); the ones it dropped lose theirs. */
  const sync = () => {
    const scheduled = new Set(opts.view().map((v) => v.pipeline));
    for (const pipeline of scheduled) entry(pipeline);
    for (const [pipeline, k] of known) {
      if (scheduled.has(pipeline)) continue;
      for (const c of [rows, batches, bytes, retries]) c.remove({ pipeline });
      for (const outcome of OUTCOMES) runs.remove({ pipeline, outcome });
      for (const labels of k.errorLabels.values()) errors.remove({ pipeline, ...labels });
      for (const stage of k.stages) stageSeconds.remove({ pipeline, stage });
      known.delete(pipeline);
    }
  };

  return {
    registry,
    contentType: registry.contentType,
    onBatch(pipeline, batch) {
      const written = batchBytes(batch);
      if (batch.rowCount <= 0 && written <= 0) return;
      const k = entry(pipeline);
      if (written > 0) bytes.inc({ pipeline }, written);
      // A batch with no rows of its own (only a backfill's files) is no batch synced.
      if (batch.rowCount <= 0) return;
      rows.inc({ pipeline }, batch.rowCount);
      batches.inc({ pipeline });
      // The null-cursor sweep reads rows by key: its position says nothing about how recent they are.
      if (batch.phase === 'cursor' && batch.last) k.cursor = batch.last.cursor;
      if (batch.sourceColumns.length > 0) k.columnTypes = new Map(batch.sourceColumns.map((c) => [c.name, c.baseType]));
    },
    onOutcome(outcome, health) {
      const pipeline = outcome.pipeline;
      const k = entry(pipeline);
      runs.inc({ pipeline, outcome: outcome.ok ? 'ok' : 'failed' });
      if (outcome.ok) {
        k.lastSuccessMs = now();
        for (const [stage, ms] of Object.entries(outcome.stats.stageMs)) {
          k.stages.add(stage);
          stageSeconds.observe({ pipeline, stage }, ms / 1000);
        }
        return;
      }
      const labels = { kind: outcome.kind, code: outcome.code };
      k.errorLabels.set(`${labels.kind} ${labels.code}`, labels);
      errors.inc({ pipeline, ...labels });
      if (health.state === 'backing-off') retries.inc({ pipeline });
    },
    track: sync,
    async render() {
      sync();
      return registry.metrics();
    },
  };
}
