/**
 * Is the service healthy? The one decision behind /healthz and the `pgduck_healthy` gauge, as a pure
 * function of the scheduler's view (src/runner/scheduler.ts), the clock and a threshold, so it is
 * tested without a server.
 *
 * Healthy while the scheduler runs and no pipeline has been blocked longer than
 * PGDUCK_HEALTH_BLOCKED_SECONDS (default 300). Blocked is the state that needs a person (a wrong
 * password, a dropped table, an incompatible drift: docs/architecture.md, rule 9); a restart does not
 * fix it, but an orchestrator's health check is where people look. A pipeline backing off from a
 * transient failure is not unhealthy: it heals by itself (its retries are in the metrics). The
 * threshold gives a person fixing a file, or a probe, the time to unblock it before alerts fire.
 * Starting (before the scheduler is up) and stopping (SIGTERM: batches in flight finishing) are
 * unhealthy too: the service is not syncing on its schedule then.
 */
import { UsageError } from '../errors/usage-error.js';
import type { PipelineView } from './scheduler.js';

export const DEFAULT_HEALTH_BLOCKED_SECONDS = 300;
export const HEALTH_BLOCKED_ENV = 'PGDUCK_HEALTH_BLOCKED_SECONDS';

export type ServicePhase = 'starting' | 'running' | 'stopping';

/** One pipeline as /healthz shows it. Times are ISO strings; messages are already clean of secrets. */
export interface PipelineHealthBody {
  pipeline: string;
  state: string;
  nextRun: string | null;
  /** backing-off: when the retry runs; blocked: when the next probe is due. */
  retryAt: string | null;
  /** The failure streak, if failing: since when, how many attempts, its kind and code. */
  failing: { since: string; attempts: number; kind: string; code: string } | null;
  blockedSince: string | null;
}

/** A pipeline blocked longer than the threshold: what makes the service unhealthy. */
export interface BlockedPipeline {
  pipeline: string;
  kind: string;
  code: string;
  blockedSince: string;
  blockedSeconds: number;
  message: string;
  fix: string | null;
}

export interface HealthReport {
  healthy: boolean;
  /** ok; blocked (a pipeline blocked too long); starting; stopping. */
  status: 'ok' | 'blocked' | 'starting' | 'stopping';
  blockedThresholdSeconds: number;
  blocked: BlockedPipeline[];
  pipelines: PipelineHealthBody[];
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function judgeHealth(views: readonly PipelineView[], opts: { phase: ServicePhase; now: number; blockedSeconds: number }): HealthReport {
  const pipelines: PipelineHealthBody[] = [];
  const blocked: BlockedPipeline[] = [];
  for (const v of [...views].sort((a, b) => a.pipeline.localeCompare(b.pipeline))) {
    const h = v.health;
    const s = h.streak;
    pipelines.push({
      pipeline: v.pipeline,
      state: h.state,
      nextRun: v.nextRun ? v.nextRun.toISOString() : null,
      retryAt: iso(h.retryAt),
      failing: s ? { since: iso(s.since) ?? '', attempts: s.attempts, kind: s.kind, code: s.code } : null,
      blockedSince: iso(h.blockedSince),
    });
    if (h.state !== 'blocked' || h.blockedSince === null) continue;
    const blockedMs = opts.now - h.blockedSince;
    if (blockedMs <= opts.blockedSeconds * 1000) continue;
    blocked.push({
      pipeline: v.pipeline,
      kind: s?.kind ?? 'internal',
      code: s?.code ?? 'INTERNAL',
      blockedSince: iso(h.blockedSince) ?? '',
      blockedSeconds: Math.floor(blockedMs / 1000),
      message: s?.message ?? '',
      fix: s?.fix ?? null,
    });
  }
  const status: HealthReport['status'] = opts.phase !== 'running' ? opts.phase : blocked.length > 0 ? 'blocked' : 'ok';
  return { healthy: status === 'ok', status, blockedThresholdSeconds: opts.blockedSeconds, blocked, pipelines };
}

/** PGDUCK_HEALTH_BLOCKED_SECONDS: a whole number of seconds (0: any blocked pipeline is unhealthy at once). */
export function healthBlockedSecondsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env[HEALTH_BLOCKED_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_HEALTH_BLOCKED_SECONDS;
  if (!/^\s*[0-9]{1,9}\s*$/.test(raw)) throw new UsageError(`${HEALTH_BLOCKED_ENV} must be a whole number of seconds, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** One line for a person (the body's `summary`): why it is unhealthy, naming each blocked pipeline and its code. */
export function summarizeHealth(r: HealthReport): string {
  switch (r.status) {
    case 'ok':
      return `ok: ${r.pipelines.length} pipeline${r.pipelines.length === 1 ? '' : 's'} scheduled, none blocked longer than ${r.blockedThresholdSeconds} s`;
    case 'starting':
      return 'starting: the scheduler is not running yet';
    case 'stopping':
      return 'stopping: finishing the batches in flight';
    case 'blocked':
      return `unhealthy: ${r.blocked.map((b) => `${b.pipeline} blocked for ${b.blockedSeconds} s (${b.kind} ${b.code})`).join('; ')}`;
  }
}
