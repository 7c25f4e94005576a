import type { ErrorObject } from 'ajv';
import { formatConfigPath, pointerToConfigPath, type ConfigPath } from './config-path.js';
import { didYouMean } from './did-you-mean.js';
import type { FieldIssue } from './field-issue.js';

/** A schema violation in words, with the field it belongs to (`at: 'key'` for unknown keys). */
export type SchemaIssue = FieldIssue & { at: 'key' | 'value' };

type Schema = Record<string, any>;

export interface DescribeOptions {
  /** Formatted paths whose value came from the environment → variable names: such values are never echoed. */
  fromEnv?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Turns ajv errors (compiled with allErrors and verbose) into one plain sentence per real mistake.
 * An `anyOf` failure is reported once, as the branch the value was evidently meant for (a list
 * with a bad item reports the item) or as "must be X or Y"; never as ajv's three raw errors.
 */
export function describeAjvErrors(errors: readonly ErrorObject[], data: unknown, options: DescribeOptions = {}): SchemaIssue[] {
  const fromEnv = options.fromEnv ?? new Map<string, readonly string[]>();
  const remaining = new Set(errors);
  const issues: SchemaIssue[] = [];

  // Innermost anyOf first, so a nested anyOf is settled before the one around it looks at its children.
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const anyOf of anyOfs) {
    if (!remaining.has(anyOf)) continue;
    remaining.delete(anyOf);
    const prefix = `${anyOf.schemaPath}/`;
    const children = [...remaining].filter((e) => e.schemaPath.startsWith(prefix));
    children.forEach((e) => remaining.delete(e));
    const branches = (anyOf.schema ?? []) as Schema[];
    const meant = branches.findIndex((branch) => typeFits(branch.type, anyOf.data));
    if (meant >= 0) {
      children.filter((e) => e.schemaPath.startsWith(`${prefix}${meant}/`)).forEach((e) => remaining.add(e));
    } else {
      const path = pointerToConfigPath(anyOf.instancePath, data);
      const got = gotText(anyOf.data, path, fromEnv);
      issues.push({ path, at: 'value', message: `must be ${branches.map(describeSchema).join(' or ')} (${got})` });
    }
  }

  // A value of the wrong type has one problem, its type: `enum`/`minLength` on it would only repeat that.
  const wrongType = new Set([...remaining].filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  for (const error of errors) {
    if (!remaining.has(error)) continue;
    if (error.keyword !== 'type' && wrongType.has(error.instancePath)) continue;
    const issue = describeError(error, data, fromEnv);
    if (issue) issues.push(issue);
  }
  // `tabel:` is one mistake, not two: "did you mean `table`?" already says that `table` is missing.
  const suggested = new Set(
    errors
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => {
        const { meant } = unknownKey((e.params as Record<string, string>).additionalProperty, (e.parentSchema ?? {}) as Schema);
        return meant ? formatConfigPath([...pointerToConfigPath(e.instancePath, data), ...meant]) : '';
      }),
  );
  const isCoveredRequired = (i: SchemaIssue) => i.message === REQUIRED && suggested.has(formatConfigPath(i.path));
  return dedupe(issues.filter((i) => !isCoveredRequired(i)));
}

const REQUIRED = 'required field is missing';

function describeError(error: ErrorObject, data: unknown, fromEnv: ReadonlyMap<string, readonly string[]>): SchemaIssue | undefined {
  const path = pointerToConfigPath(error.instancePath, data);
  const params = error.params as Record<string, any>;
  const parent = (error.parentSchema ?? {}) as Schema;
  const value = error.data;
  const env = fromEnv.get(formatConfigPath(path));
  const shown = (v: unknown) => (env ? `value from ${env.map((n) => `\${${n}}`).join(', ')}` : `got ${literal(v)}`);

  switch (error.keyword) {
    case 'required':
      return { path: [...path, params.missingProperty], at: 'value', message: REQUIRED };
    case 'additionalProperties':
      return { path: [...path, params.additionalProperty], at: 'key', message: unknownKey(params.additionalProperty, parent).message };
    case 'type': {
      // `batch_size: "1000"`: the quotes make it a string; say so rather than leave the reader puzzled.
      const quoted = !env && typeof value === 'string' && looksLike(params.type, value) ? '; write it without quotes' : '';
      // YAML 1.1 habits: `enabled: yes` is the string "yes" in YAML 1.2, which this parser speaks.
      const yaml11 =
        !env && params.type === 'boolean' && typeof value === 'string' && /^(yes|no|on|off|y|n)$/i.test(value)
          ? `; YAML 1.2 reads \`${value}\` as text: write true or false`
          : '';
      return { path, at: 'value', message: `must be ${describeSchema({ type: params.type })} (${gotText(value, path, fromEnv)}${quoted}${yaml11})` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const range =
        typeof parent.minimum === 'number' && typeof parent.maximum === 'number'
          ? `between ${parent.minimum} and ${parent.maximum}`
          : `${params.comparison} ${params.limit}`;
      return { path, at: 'value', message: `must be ${range} (${shown(value)})` };
    }
    case 'minLength':
      return {
        path,
        at: 'value',
        message: params.limit === 1 ? `must not be empty${env ? ` (${shown(value)})` : ''}` : `must be at least ${params.limit} characters`,
      };
    case 'maxLength':
      return { path, at: 'value', message: `must be at most ${params.limit} characters${env ? '' : ` (got ${String(value).length})`}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => `\`${String(v)}\``).join(', ');
      const hint = !env && typeof value === 'string' ? didYouMean(value, (params.allowedValues as unknown[]).map(String)) : undefined;
      return { path, at: 'value', message: `must be one of ${allowed} (${shown(value)})${hint ? `; did you mean \`${hint}\`?` : ''}` };
    }
    case 'const':
      return { path, at: 'value', message: `must be \`${String(params.allowedValue)}\` (${shown(value)})` };
    case 'minItems':
      return { path, at: 'value', message: params.limit === 1 ? 'must not be an empty list' : `must list at least ${params.limit} items` };
    case 'maxItems':
      return { path, at: 'value', message: `must list at most ${params.limit} items` };
    case 'uniqueItems': {
      const [first, second] = [Math.min(params.i, params.j), Math.max(params.i, params.j)];
      const itemEnv = fromEnv.get(formatConfigPath([...path, second]));
      const item = itemEnv || !Array.isArray(value) ? 'this item' : literal(value[second]);
      return { path: [...path, second], at: 'value', message: `${item} is listed twice (first at [${first}])` };
    }
    case 'pattern':
      return { path, at: 'value', message: `must match /${params.pattern}/` };
    default:
      return { path, at: 'value', message: error.message ?? `fails ${error.keyword}` };
  }
}

/** The message for an unknown key, and the path it probably meant (a sibling, or a field one level down). */
function unknownKey(key: string, parent: Schema): { message: string; meant?: string[] } {
  const allowed = Object.keys(parent.properties ?? {});
  const suggestion = didYouMean(key, allowed);
  if (suggestion) return { message: `unknown key \`${key}\`; did you mean \`${suggestion}\`?`, meant: [suggestion] };
  // A key written one level too high: `primary_key:` at the top instead of under `source:`.
  for (const [name, child] of Object.entries<Schema>(parent.properties ?? {})) {
    const nested = Object.keys(child?.properties ?? {});
    const match = nested.includes(key) ? key : didYouMean(key, nested);
    if (match) return { message: `unknown key \`${key}\` here; did you mean \`${name}.${match}\`?`, meant: [name, match] };
  }
  return { message: `unknown key \`${key}\` (allowed: ${allowed.filter((k) => !k.startsWith('$')).join(', ')})` };
}

function gotText(value: unknown, path: ConfigPath, fromEnv: ReadonlyMap<string, readonly string[]>): string {
  const env = fromEnv.get(formatConfigPath(path));
  const kind = `got ${kindOf(value)}`;
  return env ? `${kind} from ${env.map((n) => `\${${n}}`).join(', ')}` : kind;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a fractional number';
  return 'a string';
}

function describeSchema(schema: Schema): string {
  if ('const' in schema) return `\`${String(schema.const)}\``;
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((v: unknown) => `\`${String(v)}\``).join(', ')}`;
  switch (schema.type) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping';
    case 'array':
      return schema.items?.type ? `a list of ${plural(describeSchema(schema.items))}` : 'a list';
    case 'null':
      return 'empty';
    default:
      return Array.isArray(schema.type) ? schema.type.map((t: string) => describeSchema({ type: t })).join(' or ') : 'valid';
  }
}

function plural(phrase: string): string {
  const m = /^an? (.*)$/.exec(phrase);
  return m ? `${m[1]}s` : phrase;
}

function typeFits(type: unknown, value: unknown): boolean {
  if (Array.isArray(type)) return type.some((t) => typeFits(t, value));
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return false;
  }
}

function looksLike(type: unknown, text: string): boolean {
  if (type === 'integer') return /^[-+]?\d+$/.test(text.trim());
  if (type === 'number') return text.trim() !== '' && Number.isFinite(Number(text));
  if (type === 'boolean') return /^(true|false)$/i.test(text.trim());
  return false;
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `\`${value}\`` : (JSON.stringify(value) ?? String(value));
}

function dedupe(issues: SchemaIssue[]): SchemaIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${formatConfigPath(issue.path)}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
