import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { buildPipelineSpec } from './build-pipeline-spec.js';
import { formatConfigPath, type ConfigPath } from './config-path.js';
import type { ConfigProblem } from './config-problem.js';
import type { FieldIssue } from './field-issue.js';
import type { PipelineIdentity } from './check-pipeline-set.js';
import { interpolateEnv } from './interpolate-env.js';
import type { SharedDefaults } from './load-defaults-file.js';
import { inheritedFields, mergeDefaults, originOf } from './merge-defaults.js';
import { parsePipelineYaml } from './parse-pipeline-yaml.js';
import { parseTableName } from './parse-table-name.js';
import { schemaDefault } from './pipeline-file-schema.js';
import type { PipelineFile } from './pipeline-schema.js';
import type { PipelineSpec } from './pipeline-spec.js';
import { semanticChecks } from './semantic-checks.js';
import { schemaTypeAt, validateAgainstSchema } from './validate-against-schema.js';

/** A file stem that names a pipeline. Never a leading `_`: such files are not pipelines (shared-defaults-names.ts). */
export const PIPELINE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export interface LoadedPipelineFile {
  /** Present only when the file has no problems of its own (cross-file checks may still refuse it). */
  spec?: PipelineSpec;
  problems: ConfigProblem[];
  /** Name and target, for the cross-file checks: known even when the file has other problems. */
  identity: PipelineIdentity;
}

/**
 * One pipeline file through every per-file stage: read → YAML with positions → merged over its
 * directory's shared defaults (when given) → ${ENV} → JSON Schema (defaults) → semantic checks →
 * PipelineSpec. Every problem of the file is reported, except those that only follow from an
 * earlier one (fields of a file that is not YAML, the schema's view of a value whose variable is
 * missing). A problem with a value inherited from the shared defaults is reported at the defaults
 * file's line:col (with `inheritedBy` naming this file); every other at this file's. Shared defaults
 * with problems of their own refuse the file in one line (their problems are reported once, by
 * the caller).
 */
export function loadPipelineFile(file: string, env: NodeJS.ProcessEnv, defaults?: SharedDefaults): LoadedPipelineFile {
  const name = basename(file, extname(file));
  const identity: PipelineIdentity = { file, name };
  const problems: ConfigProblem[] = [];
  if (!PIPELINE_NAME.test(name)) {
    problems.push({
      file,
      line: 1,
      col: 1,
      path: '',
      message: `pipeline name \`${name}\` (the file stem) must start with a letter and contain only letters, digits, _ and -; rename the file`,
    });
  }
  // Shared defaults with problems: the file is not checked, but which table it reads is still told
  // (init must know; found by review: a variable of the shared defaults unset in init's shell hid every file's table).
  const unchecked = defaults !== undefined && (defaults.problems.length > 0 || !defaults.data);
  if (unchecked) {
    const n = defaults.problems.length;
    problems.push({
      file,
      line: 1,
      col: 1,
      path: '',
      message: `not checked: it inherits the shared defaults ${defaults.file}, which ${n === 1 ? 'has 1 problem' : `have ${n} problems`} (listed under that file); fix them first`,
    });
  }

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (!unchecked) problems.push({ file, line: 1, col: 1, path: '', message: `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
    return { problems, identity };
  }

  const { data, locator, issues } = parsePipelineYaml(text);
  if (!unchecked) problems.push(...issues.map((issue) => ({ file, line: issue.line, col: issue.col, path: '', message: issue.message })));
  if (data === undefined) return { problems, identity };

  const shared = defaults?.data && defaults.locator ? { ...defaults, data: defaults.data, locator: defaults.locator } : undefined;
  const merged = shared ? mergeDefaults(shared.data, data) : data;
  // Where a merged value is written: the shared defaults when this file leaves it to them.
  const inherited = (path: ConfigPath) => shared !== undefined && originOf(path, data, shared.data) === 'defaults';
  const interpolated = interpolateEnv(merged, env, { expectedType: schemaTypeAt });
  const settled = (path: string) => !interpolated.unresolved.has(path);
  const source = resolvedSource(interpolated.value as Record<string, unknown>, settled);
  if (source) identity.source = source;
  if (unchecked) return { problems, identity };
  const value = interpolated.value as Record<string, unknown>;
  const fieldIssues: FieldIssue[] = [
    ...interpolated.issues.map((i) => ({ path: i.path, needle: i.text, message: i.message })),
    // Placeholders that did not resolve were reported just above; what the schema says about them is noise.
    ...validateAgainstSchema(value, interpolated.fromEnv).filter((i) => !interpolated.unresolved.has(formatConfigPath(i.path))),
    ...semanticChecks(value, {
      fromEnv: interpolated.fromEnv,
      unresolved: interpolated.unresolved,
      // Written in this file: an inherited value is a default like the schema's (a shared
      // soft_delete_mode applies only to the pipelines that have a soft_delete).
      isWritten: (path) => locator.has(path),
    }),
  ];
  for (const issue of fieldIssues) {
    if (shared && inherited(issue.path)) {
      const at = shared.locator;
      const position = issue.needle ? at.positionInScalar(issue.path, issue.needle) : at.position(issue.path, issue.at);
      problems.push({
        file: shared.file,
        ...position,
        path: formatConfigPath(issue.path),
        message: `${issue.message} (inherited by ${file})`,
        inheritedBy: file,
      });
      continue;
    }
    const position = issue.needle ? locator.positionInScalar(issue.path, issue.needle) : locator.position(issue.path, issue.at);
    problems.push({ file, ...position, path: formatConfigPath(issue.path), message: issue.message });
  }

  const target = value.target as Record<string, unknown> | undefined;
  if (
    target &&
    typeof target.table === 'string' &&
    target.table !== '' &&
    settled('target.table') &&
    settled('target.schema') &&
    settled('target.duckdb_path')
  ) {
    identity.target = {
      table: target.table,
      ...(typeof target.schema === 'string' && target.schema !== '' && { schema: target.schema }),
      duckdbPath: typeof target.duckdb_path === 'string' ? target.duckdb_path : undefined,
      position: locator.position(['target', 'table']),
      fromEnv: interpolated.fromEnv.has('target.table'),
    };
  }
  const built = problems.length === 0 ? buildPipelineSpec(name, file, value as PipelineFile) : undefined;
  const spec = built && shared ? { ...built, defaults: { file: shared.file, fields: inheritedFields(shared.data, data) } } : built;
  return { spec, problems, identity };
}

/** The source table a file's merged, interpolated value names, when source.table (and source.schema) resolved. */
function resolvedSource(value: Record<string, unknown>, settled: (path: string) => boolean): { schema: string; table: string } | undefined {
  const source = value.source as Record<string, unknown> | undefined;
  if (!source || typeof source.table !== 'string' || !settled('source.table')) return undefined;
  const parsed = parseTableName(source.table);
  if ('error' in parsed) return undefined;
  if (parsed.schema !== undefined) return { schema: parsed.schema, table: parsed.table };
  if (!settled('source.schema')) return undefined;
  const schema = typeof source.schema === 'string' && source.schema !== '' ? source.schema : schemaDefault<string>(['source', 'schema']);
  return { schema, table: parsed.table };
}
