import { Cron } from 'croner';
import { formatConfigPath, type ConfigPath } from './config-path.js';
import { didYouMean } from './did-you-mean.js';
import type { FieldIssue } from './field-issue.js';
import { parseTableName } from './parse-table-name.js';
import { cronZone } from './cron-zone.js';

export interface SemanticContext {
  /** Formatted paths whose value came from the environment → variable names: never echo those values. */
  fromEnv: ReadonlyMap<string, readonly string[]>;
  /** Formatted paths whose placeholders could not be resolved: already reported, skip them here. */
  unresolved: ReadonlySet<string>;
  /** Whether the file itself writes this field (as opposed to a default filled in by ajv). */
  isWritten: (path: ConfigPath) => boolean;
}

/**
 * The per-file rules a JSON Schema cannot express. Runs on schema-validated, defaulted data but
 * tolerates fields the schema rejected (it checks types itself and skips them), so one pass
 * reports everything. Pure: no I/O, no clock beyond asking croner for the next run.
 */
export function semanticChecks(data: Record<string, unknown>, context: SemanticContext): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const text = (path: ConfigPath): string | undefined => {
    const value = valueAt(data, path);
    // Empty strings are the schema's to report ("must not be empty"); checking them here only echoes that.
    return typeof value === 'string' && value !== '' && !context.unresolved.has(formatConfigPath(path)) ? value : undefined;
  };
  const show = (path: ConfigPath, value: string): string => {
    const env = context.fromEnv.get(formatConfigPath(path));
    return env ? `the value of ${env.map((n) => `\${${n}}`).join(', ')}` : `\`${value}\``;
  };

  // source.table: `table`, `schema.table` or quoted parts (a Postgres table). target.table is read the
  // same way (a DuckDB table: a dot is a schema, never part of a table literally named "a.b"). Either
  // side's `schema`, when written too, must agree with a schema the table names.
  for (const side of ['source', 'target'] as const) {
    const table = text([side, 'table']);
    if (table === undefined) continue;
    const parsed = parseTableName(table);
    if ('error' in parsed) {
      issues.push({ path: [side, 'table'], message: parsed.error });
      continue;
    }
    const schema = text([side, 'schema']);
    if (parsed.schema !== undefined && schema !== undefined && context.isWritten([side, 'schema']) && schema !== parsed.schema) {
      issues.push({
        path: [side, 'schema'],
        message: `is ${show([side, 'schema'], schema)} but ${side}.table names schema ${show([side, 'table'], parsed.schema)}; leave ${side}.schema out or make them agree`,
      });
    }
  }

  // Key, cursor and tombstone columns. Duplicates inside primary_key are the schema's uniqueItems.
  const primaryKey = valueAt(data, ['source', 'primary_key']);
  const keyColumns = typeof primaryKey === 'string' ? [primaryKey] : Array.isArray(primaryKey) ? primaryKey.filter((c) => typeof c === 'string') : [];
  const cursor = text(['source', 'cursor']);
  const softDelete = text(['source', 'soft_delete']);
  if (softDelete !== undefined && softDelete === cursor) {
    issues.push({
      path: ['source', 'soft_delete'],
      message: `is the same column as source.cursor; the cursor must change on every update, a tombstone is set once on delete`,
    });
  } else if (softDelete !== undefined && keyColumns.includes(softDelete)) {
    issues.push({
      path: ['source', 'soft_delete'],
      message: 'is a primary-key column; a tombstone column (NULL while the row lives) cannot be part of the key',
    });
  }

  // source.columns: the key, cursor and tombstone are always read (the keyset, the checkpoint and the
  // `_current` view need them), so an include list must name them and an exclude list must not.
  const required = [
    ...keyColumns.map((c) => ({ name: c, role: 'primary-key column' })),
    ...(cursor !== undefined && !keyColumns.includes(cursor) ? [{ name: cursor, role: 'cursor' }] : []),
    ...(softDelete !== undefined ? [{ name: softDelete, role: 'soft_delete column' }] : []),
  ];
  const include = valueAt(data, ['source', 'columns', 'include']);
  const exclude = valueAt(data, ['source', 'columns', 'exclude']);
  if (Array.isArray(include) && Array.isArray(exclude) && context.isWritten(['source', 'columns', 'exclude'])) {
    issues.push({
      path: ['source', 'columns'],
      at: 'key',
      message: 'has both include and exclude; write one: include lists the only columns synced, exclude the columns left out',
    });
  } else if (Array.isArray(include)) {
    const missing = required.filter((r) => !include.includes(r.name));
    if (missing.length > 0) {
      issues.push({
        path: ['source', 'columns', 'include'],
        at: 'value',
        message: `leaves out ${missing.map((m) => `the ${m.role} \`${m.name}\``).join(', ')}, which every batch reads; add ${missing.length > 1 ? 'them' : 'it'} to the list`,
      });
    }
  } else if (Array.isArray(exclude)) {
    exclude.forEach((name, i) => {
      const r = required.find((x) => x.name === name);
      if (r) {
        issues.push({
          path: ['source', 'columns', 'exclude', i],
          message: `\`${name}\` is the ${r.role}, which every batch reads; it cannot be excluded`,
        });
      }
    });
  }

  if (softDelete === undefined && context.isWritten(['source', 'soft_delete_mode'])) {
    issues.push({ path: ['source', 'soft_delete_mode'], message: 'needs source.soft_delete: the tombstone column whose rows it keeps or removes' });
  }

  // Time zones: the schedule's, and the one a timestamp cursor's wall-clock values are in.
  const zoneProblem = (path: ConfigPath, namesOnly: boolean): boolean => {
    const zone = text(path);
    if (zone === undefined) return false;
    const env = context.fromEnv.get(formatConfigPath(path));
    // Postgres reads a numeric offset the POSIX way (`+05:00` is five hours *west* of UTC): only names are accepted.
    if (namesOnly && /^[+-]|^\d/.test(zone)) {
      issues.push({
        path,
        message: `${show(path, zone)} is a numeric offset, which Postgres reads with the sign reversed (POSIX); use a zone name such as UTC, America/New_York or Etc/GMT+5`,
      });
      return true;
    }
    if (isTimeZone(zone)) return false;
    const hint = env ? undefined : didYouMean(zone, timeZoneNames());
    const what = env ? `(value from ${env.map((n) => `\${${n}}`).join(', ')})` : `\`${zone}\``;
    issues.push({
      path,
      message: `unknown time zone ${what}${hint ? `; did you mean \`${hint}\`?` : '; use an IANA name such as UTC or Europe/Berlin'}`,
    });
    return true;
  };
  zoneProblem(['source', 'cursor_timezone'], true);
  // The schedule is checked in its time zone when that is valid.
  const timezone = text(['timezone']);
  const zoneOk = timezone !== undefined && !zoneProblem(['timezone'], false);

  const schedule = text(['schedule']);
  if (schedule !== undefined) {
    const problem = cronProblem(schedule, zoneOk ? timezone! : 'UTC', context.fromEnv.has('schedule'));
    if (problem) issues.push({ path: ['schedule'], message: problem });
  }

  // The reconcile block's schedule, in its own time zone, else the pipeline's (as the service reads it).
  const reconcileSchedule = text(['reconcile', 'schedule']);
  const reconcileZone = text(['reconcile', 'timezone']);
  const reconcileZoneOk = reconcileZone !== undefined && !zoneProblem(['reconcile', 'timezone'], false);
  if (reconcileSchedule !== undefined) {
    const zone = reconcileZone !== undefined ? (reconcileZoneOk ? reconcileZone : 'UTC') : zoneOk ? timezone! : 'UTC';
    const problem = cronProblem(reconcileSchedule, zone, context.fromEnv.has('reconcile.schedule'));
    if (problem) issues.push({ path: ['reconcile', 'schedule'], message: problem });
  }
  return issues;
}

/** Why a cron expression cannot drive the scheduler, or undefined when it can. */
export function cronProblem(expression: string, timezone: string, hideValue = false): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (!expression.trim().startsWith('@') && fields.length !== 5 && fields.length !== 6) {
    return `is not a valid cron expression: it has ${fields.length} field${fields.length === 1 ? '' : 's'}; write 5 (minute hour day month weekday) or 6 with seconds first`;
  }
  let job: Cron | undefined;
  try {
    // The scheduler runs croner too (node-cron skipped an hour across DST, see docs/architecture.md#facts-scheduling), so what parses here runs there.
    job = new Cron(expression, { ...cronZone(timezone), paused: true, mode: '5-or-6-parts' });
    if (job.nextRun() === null) return 'never fires: no date matches it (e.g. 30 February)';
    return undefined;
  } catch (error) {
    const raw = error instanceof Error ? error.message.replace(/^CronPattern:\s*/, '').replace(/^Syntax error,\s*/i, '') : String(error);
    const reason = raw.charAt(0).toLowerCase() + raw.slice(1);
    // croner quotes the pattern in some messages: not when it came from the environment.
    return hideValue ? 'is not a valid cron expression' : `is not a valid cron expression: ${reason}`;
  } finally {
    job?.stop();
  }
}

function isTimeZone(zone: string): boolean {
  // The default, known valid (src/config/cron-zone.ts: the first Intl.DateTimeFormat costs 25–35 ms).
  if (zone === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

let zoneNames: string[] | undefined;
function timeZoneNames(): string[] {
  zoneNames ??= ['UTC', ...Intl.supportedValuesOf('timeZone')];
  return zoneNames;
}

function valueAt(data: unknown, path: ConfigPath): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}
