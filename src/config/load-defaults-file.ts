/**
 * One shared-defaults file (`_defaults.yml`) through the same stages as a pipeline file, with its
 * own schema: read → YAML with positions → ${ENV} (to check it; the pipeline files inherit the
 * text as written and interpolate it with their own) → schema/defaults.schema.json → refused
 * fields → the semantic checks that make sense without a table (cron, time zones). Its problems
 * are its own, reported once at its own positions; a pipeline file that inherits a broken one is
 * not loaded (load-pipelines.ts).
 */
import { readFileSync } from 'node:fs';
import { formatConfigPath } from './config-path.js';
import type { ConfigProblem } from './config-problem.js';
import { validateDefaultsAgainstSchema } from './defaults-file-schema.js';
import type { FieldIssue } from './field-issue.js';
import { interpolateEnv } from './interpolate-env.js';
import { parsePipelineYaml } from './parse-pipeline-yaml.js';
import { REFUSED_IN_DEFAULTS } from './refused-in-defaults.js';
import { semanticChecks } from './semantic-checks.js';
import { schemaTypeAt } from './validate-against-schema.js';
import type { YamlLocator } from './yaml-locator.js';

export interface SharedDefaults {
  /** The path as the loader reached it (`pipelines/_defaults.yml`). */
  file: string;
  /** Its own problems; when any, every pipeline file of its directory is refused. */
  problems: ConfigProblem[];
  /** The mapping as written (before ${ENV}); present when the file could be parsed as one. */
  data?: Record<string, unknown>;
  locator?: YamlLocator;
}

export function loadDefaultsFile(file: string, env: NodeJS.ProcessEnv): SharedDefaults {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { file, problems: [{ file, line: 1, col: 1, path: '', message: `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` }] };
  }
  const { data, locator, issues } = parsePipelineYaml(text, { emptyIsNothing: true });
  const problems: ConfigProblem[] = issues.map((issue) => ({ file, line: issue.line, col: issue.col, path: '', message: issue.message }));
  if (data === undefined) return { file, problems, locator };

  const refused = REFUSED_IN_DEFAULTS.filter((r) => locator.has(r.path));
  const refusedPaths = new Set(refused.map((r) => formatConfigPath(r.path)));
  const interpolated = interpolateEnv(data, env, { expectedType: schemaTypeAt });
  // A refused field is explained once, as refused: what the schema or the other checks say about it is noise.
  const underRefused = (i: FieldIssue) => {
    const at = formatConfigPath(i.path);
    return [...refusedPaths].some((r) => at === r || at.startsWith(`${r}.`) || at.startsWith(`${r}[`));
  };
  const checked: FieldIssue[] = [
    ...interpolated.issues.map((i) => ({ path: i.path, needle: i.text, message: i.message })),
    ...validateDefaultsAgainstSchema(interpolated.value, interpolated.fromEnv).filter((i) => !interpolated.unresolved.has(formatConfigPath(i.path))),
    // Whether a field is "written" matters only against a table's own fields (source.schema vs a
    // qualified source.table, soft_delete_mode without soft_delete): that is judged per pipeline.
    ...semanticChecks(interpolated.value as Record<string, unknown>, {
      fromEnv: interpolated.fromEnv,
      unresolved: interpolated.unresolved,
      isWritten: () => false,
    }),
  ];
  const fieldIssues: FieldIssue[] = [
    ...refused.map((r) => ({ path: r.path, at: 'key' as const, message: `cannot be shared: ${r.reason}` })),
    ...checked.filter((i) => !underRefused(i)),
  ];
  for (const issue of fieldIssues) {
    const position = issue.needle ? locator.positionInScalar(issue.path, issue.needle) : locator.position(issue.path, issue.at);
    problems.push({ file, ...position, path: formatConfigPath(issue.path), message: issue.message });
  }
  return { file, problems, data, locator };
}
