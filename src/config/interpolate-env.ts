import { formatConfigPath, type ConfigPath } from './config-path.js';

/** One `${…}` as written in the file. */
export interface EnvReference {
  /** Variable name. */
  name: string;
  /** The placeholder exactly as written (`${DB_URL}`, `${BATCH:-500}`), to find it in the file. */
  text: string;
}

export interface InterpolatedString {
  value: string;
  references: EnvReference[];
  /** References to unset variables that have no default. */
  missing: EnvReference[];
  /** Text that starts like a placeholder but is not one (`${1X}`, `${FOO` without `}`). */
  invalid: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Resolves `${NAME}` and `${NAME:-default}` (default when NAME is unset or empty, as in the shell)
 * in one string. `$${` writes a literal `${`. A `$` not followed by `{` is just a dollar sign, so
 * passwords with `$` in them need no escaping.
 */
export function interpolateString(input: string, env: NodeJS.ProcessEnv): InterpolatedString {
  const result: InterpolatedString = { value: '', references: [], missing: [], invalid: [] };
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    if (dollar < 0) {
      result.value += input.slice(i);
      break;
    }
    result.value += input.slice(i, dollar);
    if (input.startsWith('$${', dollar)) {
      result.value += '${';
      i = dollar + 3;
    } else if (input.startsWith('${', dollar)) {
      const close = input.indexOf('}', dollar + 2);
      if (close < 0) {
        result.invalid.push(input.slice(dollar));
        break;
      }
      const text = input.slice(dollar, close + 1);
      const inner = input.slice(dollar + 2, close);
      const split = inner.indexOf(':-');
      const name = split < 0 ? inner : inner.slice(0, split);
      const fallback = split < 0 ? undefined : inner.slice(split + 2);
      if (!NAME.test(name)) {
        result.invalid.push(text);
      } else {
        const reference = { name, text };
        result.references.push(reference);
        const set = env[name];
        if (set !== undefined && !(fallback !== undefined && set === '')) result.value += set;
        else if (fallback !== undefined) result.value += fallback;
        else result.missing.push(reference);
      }
      i = close + 1;
    } else {
      result.value += '$';
      i = dollar + 1;
    }
  }
  return result;
}

export interface InterpolationIssue {
  path: ConfigPath;
  /** The placeholder text, to point at it inside the value. */
  text: string;
  message: string;
}

export interface InterpolationResult {
  value: unknown;
  /** Formatted paths whose value came (partly) from the environment → variable names. Never print those values. */
  fromEnv: Map<string, string[]>;
  /** Formatted paths that could not be resolved: their later schema and semantic problems are noise. */
  unresolved: Set<string>;
  issues: InterpolationIssue[];
}

export interface InterpolateOptions {
  /**
   * The type the schema expects at `path`. A value that is exactly one placeholder is converted
   * when the schema wants an integer or a boolean and the text is one (`batch_size: ${BATCH:-5000}`
   * is the number 5000); everywhere else it stays a string, so `table: ${T}` with T=2024 is `"2024"`.
   */
  expectedType?: (path: ConfigPath) => string | undefined;
}

/**
 * Resolves environment references in every string value of a parsed pipeline file (keys are left
 * alone). Every missing variable and malformed placeholder is reported, not only the first.
 * Pure: returns a new value and does not touch `data`.
 */
export function interpolateEnv(data: unknown, env: NodeJS.ProcessEnv, options: InterpolateOptions = {}): InterpolationResult {
  const fromEnv = new Map<string, string[]>();
  const unresolved = new Set<string>();
  const issues: InterpolationIssue[] = [];

  const visit = (value: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => visit(item, [...path, i]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, visit(item, [...path, key])]));
    }
    if (typeof value !== 'string' || !value.includes('${')) return value;

    const resolved = interpolateString(value, env);
    const key = formatConfigPath(path);
    if (resolved.references.length > 0) fromEnv.set(key, [...new Set(resolved.references.map((r) => r.name))]);
    for (const ref of resolved.missing) {
      issues.push({
        path,
        text: ref.text,
        message: `environment variable ${ref.name} is not set (set it, or give a default: \${${ref.name}:-default})`,
      });
    }
    for (const text of resolved.invalid) {
      const message = text.endsWith('}')
        ? `\`${text}\` is not a valid variable reference: write \${NAME} or \${NAME:-default} (NAME of letters, digits and _), or $\${ for a literal \${`
        : `\`${text}\` has no closing \`}\` (write $\${ for a literal \${)`;
      issues.push({ path, text, message });
    }
    if (resolved.missing.length > 0 || resolved.invalid.length > 0) {
      unresolved.add(key);
      return resolved.value;
    }
    const whole = resolved.references.length === 1 && resolved.references[0].text === value;
    if (whole) return coerce(resolved.value, options.expectedType?.(path));
    return resolved.value;
  };

  return { value: visit(data, []), fromEnv, unresolved, issues };
}

function coerce(text: string, type: string | undefined): unknown {
  if (type === 'integer' && /^[-+]?[0-9]+$/.test(text.trim())) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  if (type === 'boolean' && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === 'true';
  return text;
}
