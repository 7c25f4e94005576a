import type { ConfigProblem } from '../config/config-problem.js';
import { resolvePipeline, type PipelineDefaults } from '../config/resolved-pipeline.js';
import { formatProblems, formatSummary, problemRecord } from '../config/format-problems.js';
import { loadPipelines } from '../config/load-pipelines.js';
import type { LiveFinding } from '../live/live-finding.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';

/** Exit codes of `pgduck validate`: configuration has a code of its own (src/errors/exit-codes.ts), as in Vector's `validate`. */
export const EXIT_VALID = 0;
export const EXIT_LIVE_FAILED = 1;
export const EXIT_INVALID_CONFIG = KIND_OUTCOMES.config.exitCode;

/** Where `pgduck validate` looks when given no paths. */
export const DEFAULT_PIPELINE_DIR = 'pipelines';

export interface ValidateOptions {
  /** Print one JSON report instead of `file:line:col path: message` lines and a summary. */
  json: boolean;
  /** Environment for `${VAR}` interpolation; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where pipelines without target.duckdb_path write (--duckdb / DUCKDB_PATH), for the one-writer-per-table check. */
  duckdbPath?: string;
  /** `--connect`: also check the live Postgres tables and DuckDB files. Absent: no I/O beyond reading the files. */
  connect?: PipelineDefaults & {
    connectTimeoutMs?: number;
  };
}

/** `pgduck validate --json`: the whole validation as one record. */
export interface ValidationReport {
  /** True exactly when the exit code is 0 (warnings allowed). */
  valid: boolean;
  /** Pipeline files checked. */
  pipelines: number;
  /** Configuration problems (exit 3 when any). */
  problems: ConfigProblem[];
  /** Present with --connect. */
  live?: {
    /** The configuration was invalid, or nothing could be checked: no live check ran. */
    skipped: string | null;
    ok: boolean;
    errors: number;
    warnings: number;
    /** Redacted connection strings checked. */
    connections: string[];
    duckdbFiles: string[];
    findings: LiveFinding[];
  };
}

/**
 * `pgduck validate [paths...] [--json] [--connect]`: loads every pipeline file under `paths`
 * (default pipelines/), prints every problem at once and a summary, and returns the exit code:
 * 0 valid, 3 any configuration problem (including a path that does not exist, or nothing to check),
 * 1 a live check failed. Without `connect` no database is contacted. With it, the live checks run
 * only once the configuration is valid. Never prints an environment variable's value or a password.
 */
export async function runValidate(paths: string[], opts: ValidateOptions, out: NodeJS.WritableStream): Promise<number> {
  const given = paths.length > 0 ? paths : [DEFAULT_PIPELINE_DIR];
  const { problems, files, specs, defaults } = loadPipelines(given, opts.env ?? process.env, opts.duckdbPath);
  // A shared-defaults file checked on its own (`validate pipelines/_defaults.yml`) is something checked.
  const all: ConfigProblem[] =
    files.length === 0 && defaults.length === 0 && problems.length === 0
      ? given.map((file) => ({ file, line: 1, col: 1, path: '', message: 'no pipeline files (*.yml, *.yaml) found here' }))
      : problems;

  const report: ValidationReport = { valid: all.length === 0, pipelines: files.length, problems: all.map(problemRecord) };
  let text = `${formatProblems(all)}${formatSummary(files.length, all.length)}\n`;
  let code = all.length === 0 ? EXIT_VALID : EXIT_INVALID_CONFIG;

  if (opts.connect) {
    const live: NonNullable<ValidationReport['live']> = { skipped: null, ok: false, errors: 0, warnings: 0, connections: [], duckdbFiles: [], findings: [] };
    report.live = live;
    if (code !== EXIT_VALID) {
      live.skipped = 'the configuration is invalid: fix it first';
      text += 'live checks skipped: fix the configuration first\n';
    } else {
      // Loaded only with --connect: pg and DuckDB cost more to import than the whole offline validation.
      const { withoutConnection } = await import('../live/inspect-pipelines.js');
      const pipelines = specs.map((s) => resolvePipeline(s, opts.connect!));
      const orphans = withoutConnection(pipelines);
      if (orphans.length > 0) {
        live.skipped = 'no database configured';
        text +=
          `live checks skipped: no database configured for ${orphans.map((s) => s.name).join(', ')}; ` +
          'set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB), pass --database-url, or give the pipeline a source.connection\n';
        code = EXIT_INVALID_CONFIG;
      } else {
        const { runLiveChecks } = await import('../live/run-live-checks.js');
        const { formatLiveFinding, formatLiveSummary, liveFindingRecord } = await import('../live/format-live-findings.js');
        const result = await runLiveChecks(pipelines, { connectTimeoutMs: opts.connect.connectTimeoutMs });
        live.findings = result.findings.map(liveFindingRecord);
        live.connections = result.connections;
        live.duckdbFiles = result.duckdbFiles;
        live.errors = result.findings.filter((f) => f.severity === 'error').length;
        live.warnings = result.findings.length - live.errors;
        live.ok = live.errors === 0;
        const against = [...result.connections.map((c) => `Postgres ${c}`), ...result.duckdbFiles.map((f) => `DuckDB ${f}`)].join(', ');
        text += `${result.findings.map(formatLiveFinding).join('')}${formatLiveSummary(result.findings, specs.length, against)}\n`;
        if (!live.ok) code = EXIT_LIVE_FAILED;
      }
    }
  }
  report.valid = code === EXIT_VALID;
  const output = opts.json ? `${JSON.stringify(report, null, 2)}\n` : text;
  await new Promise<void>((resolve, reject) => out.write(output, (error) => (error ? reject(error) : resolve())));
  return code;
}
