/**
 * Which pipelines a command acts on: loaded, validated, chosen by name (or every enabled one), and
 * resolved against the command's defaults. Problems are written to `err` in the usual
 * `file:line:col path: reason` form; a refusal comes back as the kind of error it is, so the
 * command's exit code derives from it (src/errors/exit-codes.ts).
 */
import { basename, dirname, extname, resolve } from 'node:path';
import { loadPipelines, type ConfigProblem } from './load-pipelines.js';
import { formatProblems } from './format-problems.js';
import { resolvePipeline, type PipelineDefaults, type ResolvedPipeline } from './resolved-pipeline.js';
import { isReservedFileName } from './shared-defaults-names.js';
import type { ErrorKind } from '../errors/pgduck-error.js';

export interface PipelineSource extends PipelineDefaults {
  pipelinesDir: string;
}

/** Refused: what was wrong is already written to `err`. */
export interface SelectionRefused {
  refused: Extract<ErrorKind, 'usage' | 'config'>;
}

/**
 * Pipelines named in `only` (verify, replay, plan): refused (`config`) only when a named file is
 * invalid, and (`usage`) when a name no file defines; an invalid file that was not named is
 * mentioned in one line and blocks nothing. Without names (verify, demo: the configuration as a
 * whole), strict: any invalid file refuses the selection. `run` uses selectRunnable, which runs
 * the valid files and reports the others.
 */
export function selectPipelines(source: PipelineSource, only: string[] | undefined, err: NodeJS.WritableStream): ResolvedPipeline[] | SelectionRefused {
  if (only && only.length > 0) return selectNamed(source, only, err);
  const { specs, problems } = loadPipelines([source.pipelinesDir], process.env, source.duckdbPath);
  if (problems.length > 0) {
    err.write(formatProblems(problems));
    err.write(`pipeline configuration is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}): nothing was run\n`);
    return { refused: 'config' };
  }
  if (only && only.length > 0) {
    const unknown = only.filter((n) => !specs.some((s) => s.name === n));
    if (unknown.length > 0) {
      err.write(`unknown pipeline${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${specs.map((s) => s.name).join(', ') || 'none'})\n`);
      return { refused: 'usage' };
    }
    return specs.filter((s) => only.includes(s.name)).map((s) => resolvePipeline(s, source));
  }
  return specs.filter((s) => s.enabled).map((s) => resolvePipeline(s, source));
}

/** A pipeline file that will not run because it has problems of its own or loses a cross-file check. */
export interface InvalidPipelineFile {
  file: string;
  /** The file stem: the pipeline name it would have. */
  name: string;
  problems: ConfigProblem[];
}

export interface RunnableSelection {
  /** Valid pipelines to run. */
  pipelines: ResolvedPipeline[];
  /** Selected files that are invalid: reported, not run. */
  invalid: InvalidPipelineFile[];
  /** Invalid files left out by --only: mentioned, not counted against the run. */
  invalidElsewhere: InvalidPipelineFile[];
}

/**
 * What `run` runs: every valid pipeline (enabled, or named by --only), even when other files are
 * invalid: one bad file must not stop the tables that are fine. Cross-file
 * problems refuse only the later file, as loadPipelines does. Refused (`usage`, after saying why)
 * when --only names a pipeline no file defines.
 */
export function selectRunnable(source: PipelineSource, only: string[] | undefined, err: NodeJS.WritableStream): RunnableSelection | SelectionRefused {
  const { specs, problems } = loadPipelines([source.pipelinesDir], process.env, source.duckdbPath);
  const byFile = new Map<string, InvalidPipelineFile>();
  for (const problem of problems) {
    // A problem with an inherited value is written at _defaults.yml but makes the inheriting file invalid.
    const file = problem.inheritedBy ?? problem.file;
    const entry = byFile.get(file) ?? { file, name: basename(file, extname(file)), problems: [] };
    entry.problems.push(problem);
    byFile.set(file, entry);
  }
  const invalid = [...byFile.values()];
  const resolved = (chosen: typeof specs) => chosen.map((s) => resolvePipeline(s, source));
  if (!only || only.length === 0) return { pipelines: resolved(specs.filter((s) => s.enabled)), invalid, invalidElsewhere: [] };
  const unknown = only.filter((n) => !specs.some((s) => s.name === n) && !invalid.some((f) => f.name === n));
  if (unknown.length > 0) {
    const known = [...new Set([...specs.map((s) => s.name), ...invalid.map((f) => f.name)])];
    err.write(`unknown pipeline${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${known.join(', ') || 'none'})\n`);
    return { refused: 'usage' };
  }
  const named = invalid.filter((f) => only.includes(f.name));
  // A broken _defaults.yml is what makes a named file of its directory invalid: it goes with it.
  const dirs = new Set(named.map((f) => resolve(dirname(f.file))));
  const shared = invalid.filter((f) => isReservedFileName(f.file) && dirs.has(resolve(dirname(f.file))));
  return {
    pipelines: resolved(specs.filter((s) => only.includes(s.name))),
    invalid: [...shared, ...named],
    invalidElsewhere: invalid.filter((f) => !only.includes(f.name) && !shared.includes(f)),
  };
}

function selectNamed(source: PipelineSource, only: string[], err: NodeJS.WritableStream): ResolvedPipeline[] | SelectionRefused {
  const selection = selectRunnable(source, only, err);
  if ('refused' in selection) return selection;
  const { pipelines, invalid, invalidElsewhere } = selection;
  if (invalid.length > 0) {
    const problems = invalid.flatMap((f) => f.problems);
    err.write(formatProblems(problems));
    const names = invalid.filter((f) => !isReservedFileName(f.file)).map((f) => f.name);
    err.write(
      `pipeline ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} invalid ` +
        `(${problems.length} problem${problems.length === 1 ? '' : 's'}): nothing was run\n`,
    );
    return { refused: 'config' };
  }
  if (invalidElsewhere.length > 0) {
    const n = invalidElsewhere.length;
    err.write(
      `note: ${n} other pipeline file${n === 1 ? '' : 's'} invalid (${invalidElsewhere.map((f) => f.file).join(', ')}): pgduck validate lists the problems\n`,
    );
  }
  return pipelines;
}

/**
 * The pipelines a live command (verify, reconcile) compares against Postgres: selected as
 * selectPipelines does, then refused (`config`) when none is enabled or one has no database.
 */
export function selectLivePipelines(source: PipelineSource, names: string[], err: NodeJS.WritableStream): ResolvedPipeline[] | SelectionRefused {
  const pipelines = selectPipelines(source, names.length > 0 ? names : undefined, err);
  if ('refused' in pipelines) return pipelines;
  if (pipelines.length === 0) {
    err.write(`no enabled pipelines in ${source.pipelinesDir}\n`);
    return { refused: 'config' };
  }
  if (pipelines.some((p) => !p.connection)) {
    err.write('no database configured: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB), or pass --database-url\n');
    return { refused: 'config' };
  }
  return pipelines;
}
