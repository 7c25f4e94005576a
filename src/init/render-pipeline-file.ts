/**
 * `pgduck init`: pipeline names and the text of the files it writes. Pure.
 */
import { PIPELINE_NAME } from '../config/load-pipeline-file.js';
import type { Proposal } from './propose-pipeline.js';

/**
 * A name as a pipeline name (file stem) and DuckDB table: letters, digits, _ and -, starting with a
 * letter (`2fast` → `t_2fast`, `_audit` → `t_audit`): a file starting with `_` is not a pipeline,
 * and `_defaults.yml` holds the shared defaults.
 */
export function slug(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_-]+/g, '_');
  return /^[A-Za-z]/.test(s) ? s : s.startsWith('_') ? `t${s}` : `t_${s}`;
}

/**
 * One pipeline name per proposal, in order: the table's name when no other table of the selection
 * (or a name in `taken`, or the `<name>_current` view of a soft-delete table) has it, else
 * `<schema>_<table>`, else with a `_2`, `_3` suffix. Names are compared ignoring case: DuckDB's
 * table names do, and so do the files of some file systems.
 */
export function assignNames(proposals: readonly Pick<Proposal, 'schema' | 'table' | 'softDelete'>[], taken: Iterable<string> = []): string[] {
  const used = new Set([...taken].map((n) => n.toLowerCase()));
  for (const p of proposals) if (p.softDelete) used.add(`${slug(p.table)}_current`.toLowerCase());
  const bare = new Map<string, number>();
  for (const p of proposals) bare.set(slug(p.table).toLowerCase(), (bare.get(slug(p.table).toLowerCase()) ?? 0) + 1);
  return proposals.map((p) => {
    let name = slug(p.table);
    if ((bare.get(name.toLowerCase()) ?? 0) > 1 || used.has(name.toLowerCase())) name = slug(`${p.schema}_${p.table}`);
    let candidate = name;
    for (let i = 2; used.has(candidate.toLowerCase()); i++) candidate = `${name}_${i}`;
    used.add(candidate.toLowerCase());
    return candidate;
  });
}

const YAML_WORDS = /^(?:true|false|yes|no|on|off|null|y|n|~)$/i;

/**
 * A YAML scalar that reads back as exactly `value` and that `${…}` interpolation leaves alone:
 * plain when safe, else double-quoted (JSON string syntax is valid YAML), with `${` written `$${`.
 */
export function yamlScalar(value: string): string {
  const escaped = value.replace(/\$\{/g, () => '$${');
  if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(escaped) && !YAML_WORDS.test(escaped)) return escaped;
  return JSON.stringify(escaped);
}

/** `table` for a plain name, else `schema.table` with a part double-quoted when it holds a dot or a quote (parseTableName's syntax). */
export function sourceTableText(schema: string, table: string): string {
  const part = (s: string) => (/[."]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s);
  return `${part(schema)}.${part(table)}`;
}

export interface RenderOptions {
  /** Pipeline name: also the DuckDB table. */
  name: string;
  /** Path of schema/pipeline.schema.json relative to the file's directory (forward slashes). */
  schemaPath: string;
  /**
   * The shared-defaults file of the directory written to (`_defaults.yml`), if any: batch_size,
   * schedule and timezone are then left to it (spelled out, they would override it with the
   * built-in defaults). The table's own facts (key, cursor, tombstone) are always written.
   */
  sharedDefaults?: string;
}

/** The file init writes for a proposal: the editor's `$schema` line, the source, the target and the defaults spelled out (unless shared). */
export function renderPipelineFile(p: Proposal, opts: RenderOptions): string {
  if (!PIPELINE_NAME.test(opts.name)) throw new Error(`not a pipeline name: ${JSON.stringify(opts.name)}`);
  const key = p.primaryKey.length === 1 ? yamlScalar(p.primaryKey[0]) : `[${p.primaryKey.map(yamlScalar).join(', ')}]`;
  const lines = [
    `# yaml-language-server: $schema=${opts.schemaPath}`,
    `# Written by pgduck init from ${sourceTableText(p.schema, p.table).replace(/[\r\n]/g, ' ')}: key from its ${p.keyFrom}, cursor ${p.cursor} (${p.cursorType}).`,
  ];
  if (p.cursorType === 'timestamp without time zone') {
    lines.push("# The cursor has no time zone: set source.cursor_timezone to the zone its writers' now() is in (e.g. UTC) for an exact horizon.");
  }
  lines.push(
    'source:',
    `  table: ${yamlScalar(sourceTableText(p.schema, p.table))}`,
    `  primary_key: ${key}`,
    `  cursor: ${yamlScalar(p.cursor)}`,
    ...(p.softDelete ? [`  soft_delete: ${yamlScalar(p.softDelete)}`] : []),
    'target:',
    `  table: ${yamlScalar(opts.name)}`,
    ...(opts.sharedDefaults
      ? [`# batch_size, schedule, timezone: from ${opts.sharedDefaults.replace(/[\r\n]/g, ' ')} (else their defaults: 10000, "*/30 * * * * *", UTC)`]
      : ['batch_size: 10000', 'schedule: "*/30 * * * * *"', 'timezone: UTC']),
  );
  return `${lines.join('\n')}\n`;
}

/** A shell-style glob (`*`, `?`) as an anchored, case-sensitive RegExp. */
export function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/**
 * `--tables` globs: a glob with a dot matches `schema.table`, one without matches the table name.
 * No globs: every table.
 */
export function tableSelected(globs: readonly string[], schema: string, table: string): boolean {
  if (globs.length === 0) return true;
  return globs.some((g) => globRegExp(g).test(g.includes('.') ? `${schema}.${table}` : table));
}
