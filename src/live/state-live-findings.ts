/**
 * `pgduck run` states what `validate --connect` would say about each pipeline's source (a nullable
 * cursor or key, a missing `(cursor, key…)` index, an unmappable column…), once per pipeline per
 * process, in the log, with validate's own words (`file:line:col path: warning: name: …` and the fix).
 *
 * When: after the pipeline's first successful run, never before. A pipeline that cannot connect
 * (a wrong password) must stay one connection attempt (the service's retry contract), and what the
 * run itself refuses (a key no unique index covers: source-guard.ts) is already said as its failure.
 * A check that could not reach Postgres is tried again after the next successful run.
 *
 * Left out: what the runner says itself, once, from the horizon it reads (src/stages/note-horizon.ts:
 * a role that cannot see other sessions, a hot standby, prepared transactions, a subscriber, a foreign
 * table), and the DuckDB file check (the runner holds that file: its own lock is no finding).
 * `untracked` stays: the runner says it only while such a session is connected, the finding also
 * where the setting is made. So do `matview` and `view`: the runner says them nowhere else.
 */
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import type { Logger } from '../log/logger.js';
import { formatLiveFinding } from './format-live-findings.js';
import type { LiveCheck, LiveFinding } from './live-finding.js';
import { runLiveChecks } from './run-live-checks.js';

/** Findings the runner states on its own (or that a successful run disproves): never repeated here. */
export const SAID_BY_THE_RUNNER: ReadonlySet<LiveCheck> = new Set<LiveCheck>(['connect', 'stats', 'standby', 'prepared', 'subscriber', 'foreign', 'duckdb']);

/**
 * Called concurrently by the scheduler (one call per successful run; fire and forget). Never throws:
 * a live check that fails is logged at debug, and the run it follows is not affected.
 */
export interface LiveFindingsStater {
  /** After successful runs: checks and logs the pipelines not stated yet (one connection per distinct URL). */
  afterSuccess(pipelines: readonly ResolvedPipeline[]): Promise<void>;
  /** Resolves when every check started has logged what it found (before the process stops). */
  settled(): Promise<void>;
}

export type CheckPipelines = (pipelines: readonly ResolvedPipeline[]) => Promise<LiveFinding[]>;

/**
 * A timestamp cursor with source.cursor_timezone unset: the runner warns of it itself, once, when it
 * holds the checkpoint back (src/stages/note-horizon.ts), so the finding would say it twice. A zone that
 * is set but unknown, or set on a timestamptz cursor, is stated here.
 */
function runnerWarnsOfZone(f: LiveFinding, pipelines: ResolvedPipeline[]): boolean {
  if (f.path !== 'source.cursor_timezone') return false;
  return pipelines.some((p) => p.spec.name === f.pipelines[0] && p.spec.source.cursorTimezone === undefined);
}

const checkLive: CheckPipelines = async (pipelines) => (await runLiveChecks(pipelines, { checkDuckDb: false })).findings;

export function stateLiveFindings(log: Logger, check: CheckPipelines = checkLive): LiveFindingsStater {
  const stated = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  const run = async (pipelines: ResolvedPipeline[]) => {
    let findings: LiveFinding[];
    try {
      findings = await check(pipelines);
    } catch (err) {
      log.debug({ pipelines: pipelines.map((p) => p.spec.name), error: { message: (err as Error).message } }, 'live checks of the source failed');
      return;
    }
    for (const f of findings) {
      // Postgres could not be reached for the check: say nothing now, try after the next successful run.
      if (f.check === 'connect') for (const name of f.pipelines) stated.delete(name);
      if (SAID_BY_THE_RUNNER.has(f.check) || runnerWarnsOfZone(f, pipelines)) continue;
      const fields = {
        pipeline: f.pipelines[0],
        pipelines: f.pipelines,
        check: f.check,
        file: f.file,
        line: f.line,
        col: f.col,
        column: f.column ?? undefined,
      };
      const text = formatLiveFinding(f).trimEnd();
      if (f.severity === 'error') log.error(fields, text);
      else log.warn(fields, text);
    }
  };

  return {
    afterSuccess(pipelines) {
      const fresh = pipelines.filter((p) => p.connection && !stated.has(p.spec.name));
      if (fresh.length === 0) return Promise.resolve();
      for (const p of fresh) stated.add(p.spec.name);
      const p = run(fresh).finally(() => inFlight.delete(p));
      inFlight.add(p);
      return p;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}
