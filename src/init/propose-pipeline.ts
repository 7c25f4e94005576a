/**
 * `pgduck init`: what one live relation would become as a pipeline file, or why it cannot be one.
 * Pure: a function of what the catalog said (src/postgres/inspect-source.ts), so every choice
 * (key, cursor, tombstone) and every skip reason is stated here once and unit-tested. The live rules
 * themselves are not repeated: a proposal is then judged by judgeSource (src/live/judge-source.ts),
 * the same function `validate --connect` uses, so what init writes passes it.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { judgeSource, type SourceFacts } from '../live/judge-source.js';
import type { LiveIssue } from '../live/live-finding.js';
import type { SourceIndex, SourceRelation } from '../postgres/inspect-source.js';
import type { PgColumn } from '../schema/column.js';
import { isRefused, mapColumn } from '../schema/type-map.js';
import { qualified, quoteIdent } from '../sql/identifier.js';

/**
 * Column names taken as a cursor, best first (compared ignoring case). Each must grow on every insert
 * and update: a trigger-maintained `updated_at` is the usual one; `last_update` is Pagila's.
 */
export const CURSOR_NAMES = [
  'updated_at',
  'last_update',
  'last_updated',
  'last_updated_at',
  'modified_at',
  'last_modified',
  'last_modified_at',
  'updated',
  'modified',
  'updated_on',
  'modified_on',
  'changed_at',
  'update_time',
  'mtime',
] as const;

/** Column names taken as a tombstone (`soft_delete`: set when the row is deleted, NULL while it lives). */
export const SOFT_DELETE_NAMES = ['deleted_at', 'deleted_on', 'deleted', 'archived_at', 'removed_at'] as const;

const TIME_TYPES = new Set(['timestamptz', 'timestamp']);
const INT_TYPES = new Set(['int2', 'int4', 'int8']);
const TOMBSTONE_TYPES = new Set(['timestamptz', 'timestamp', 'date']);

export type SkipReason = 'view' | 'partition' | 'no-key' | 'no-cursor' | 'unmappable-type' | 'needs-index' | 'not-readable' | 'other';

/** A relation init will not write a file for, with why and (when SQL can fix it) how. */
export interface Skip {
  schema: string;
  table: string;
  reason: SkipReason;
  message: string;
  fix?: string;
}

/** A relation that can be synced as it is. */
export interface Proposal {
  schema: string;
  table: string;
  primaryKey: string[];
  /** `primary key` or `unique index "name"`: where the key's uniqueness comes from. */
  keyFrom: string;
  cursor: string;
  /** The cursor's type as declared (`timestamp with time zone`, …). */
  cursorType: string;
  softDelete?: string;
  /**
   * Columns with no exact DuckDB type (a pseudo-type such as anyarray), none of them the key, cursor
   * or tombstone: written as `source.columns.exclude` rather than skipping the table.
   */
  exclude?: string[];
}

export type Verdict = { proposal: Proposal } | { skip: Skip };

export interface ProposeOptions {
  /** `--cursor name`: this column, and no other, is the cursor. */
  cursor?: string;
  /** The parent of a partition (`schema.table`, quoted), when the relation is one. */
  partitionOf?: string;
}

/** What init makes of one relation, before the live rules judge it. */
export function proposePipeline(rel: SourceRelation, opts: ProposeOptions = {}): Verdict {
  const name = qualified(rel.schema, rel.table);
  const skip = (reason: SkipReason, message: string, fix?: string): Verdict => ({
    skip: { schema: rel.schema, table: rel.table, reason, message, ...(fix !== undefined && { fix }) },
  });
  if (opts.partitionOf) {
    return skip('partition', `a partition of ${opts.partitionOf}: sync the partitioned table, which reads every partition`);
  }
  if (rel.kind !== 'table' && rel.kind !== 'partitioned table') {
    return skip(
      'view',
      `a ${rel.kind}: Postgres cannot say which columns are a unique, non-NULL key of it, so init does not guess; ` +
        'write its pipeline file by hand if you know one (validate --connect then warns about what it cannot check)',
    );
  }
  const refusedColumns = rel.columns.flatMap((c) => {
    const m = mapColumn(c);
    return isRefused(m) ? [{ name: c.name, text: `${quoteIdent(c.name)} (${c.declaredType}): ${m.reason}` }] : [];
  });
  const refused = refusedColumns.map((r) => r.text);
  // Such columns are excluded (source.columns.exclude) when the table is otherwise syncable and none
  // of them is the key, cursor or tombstone; otherwise the table is skipped for them, as before.
  const unmappable = () =>
    skip(
      'unmappable-type',
      `pgduck cannot read ${refused.length === 1 ? 'this column, which has' : 'these columns, which have'} no exact DuckDB type, and cannot leave ${refused.length === 1 ? 'it' : 'them'} out: ${refused.join('; ')}`,
    );
  const proposed = chooseFacts(rel, opts, name, skip);
  if (refusedColumns.length === 0) return proposed;
  if ('skip' in proposed) return unmappable();
  const p = proposed.proposal;
  const needed = [...p.primaryKey, p.cursor, ...(p.softDelete ? [p.softDelete] : [])];
  if (refusedColumns.some((r) => needed.includes(r.name))) return unmappable();
  return { proposal: { ...p, exclude: refusedColumns.map((r) => r.name) } };
}

/** Key, cursor and tombstone of a relation init may sync, or why it cannot. */
function chooseFacts(rel: SourceRelation, opts: ProposeOptions, name: string, skip: (reason: SkipReason, message: string, fix?: string) => Verdict): Verdict {
  const key = chooseKey(rel);
  if (!key) {
    return skip(
      'no-key',
      'no primary key, and no unique index over NOT NULL columns (each in its own collation): rows could not be told apart in DuckDB; declare the key, e.g.',
      `ALTER TABLE ${name} ADD PRIMARY KEY (…);`,
    );
  }
  const cursor = chooseCursor(rel.columns, opts.cursor);
  if ('missing' in cursor) return skip('no-cursor', cursor.missing, cursor.fix);
  const softDelete = chooseSoftDelete(rel.columns, cursor.column.name);
  return {
    proposal: {
      schema: rel.schema,
      table: rel.table,
      primaryKey: key.columns,
      keyFrom: key.from,
      cursor: cursor.column.name,
      cursorType: cursor.column.declaredType,
      ...(softDelete && { softDelete: softDelete.name }),
    },
  };
}

/**
 * A time cursor on a table no `BEFORE UPDATE` trigger touches (found by review): an update that does
 * not set the column itself is never synced, and nothing says so. Said by init only, as a warning:
 * applications that set it on every update (an ORM's auto-update column) are right as they are, and
 * validate would say it on every check. The fix is the trigger postgres/init/01-schema.sql uses.
 */
function untouchedCursor(p: Proposal, relation: SourceRelation): LiveIssue[] {
  if (relation.beforeUpdateTriggers !== 0 || !/^timestamp/.test(p.cursorType)) return [];
  if (relation.kind !== 'table' && relation.kind !== 'partitioned table') return [];
  const name = qualified(p.schema, p.table);
  const fn = qualified(p.schema, `pgduck_touch_${p.cursor}`.slice(0, 63));
  return [
    {
      check: 'cursor',
      severity: 'warning',
      path: ['source', 'cursor'],
      column: p.cursor,
      message:
        `no BEFORE UPDATE trigger on ${name} sets ${quoteIdent(p.cursor)}: pgduck reads the rows whose cursor moved, so an update that does not set it is never synced. ` +
        'If every writer sets it, this is fine; else add a trigger:',
      fix: [
        `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.${quoteIdent(p.cursor)} := now(); RETURN NEW; END $$;`,
        `CREATE TRIGGER ${quoteIdent(`${p.table}_touch_${p.cursor}`.slice(0, 63))} BEFORE UPDATE ON ${name} FOR EACH ROW EXECUTE FUNCTION ${fn}();`,
      ].join('\n'),
    },
  ];
}

/**
 * The key: the primary key, else the unique index over NOT NULL plain columns with the fewest
 * columns (then by name). Partial, expression and unusable indexes make nothing unique for every row;
 * an index in another collation than a column's nondeterministic one makes it unique only in its own.
 */
export function chooseKey(rel: SourceRelation): { columns: string[]; from: string } | null {
  const notNull = new Set(rel.columns.filter((c) => c.notNull).map((c) => c.name));
  const plain = (ix: SourceIndex): ix is SourceIndex & { columns: string[] } =>
    ix.usable && !ix.partial && ix.columnEquality && ix.columns.length > 0 && ix.columns.every((c) => c !== null && notNull.has(c));
  const pk = rel.indexes.find((ix) => ix.primary);
  if (pk && plain(pk)) return { columns: pk.columns, from: 'primary key' };
  const unique = rel.indexes
    .filter((ix) => ix.unique && plain(ix))
    .sort((a, b) => a.columns.length - b.columns.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const best = unique[0] as (SourceIndex & { columns: string[] }) | undefined;
  return best ? { columns: best.columns, from: `unique index ${quoteIdent(best.name)}` } : null;
}

const fold = (s: string) => s.toLowerCase();
const isArray = (c: PgColumn) => c.elemTypname !== null;

/**
 * The cursor: `--cursor` when given (a timestamp or integer column), else the first column whose
 * name is in CURSOR_NAMES and whose type is a timestamp; NOT NULL before nullable, timestamptz
 * before timestamp, then the list's order.
 */
export function chooseCursor(columns: readonly PgColumn[], override?: string): { column: PgColumn } | { missing: string; fix?: string } {
  if (override !== undefined) {
    const col = columns.find((c) => c.name === override);
    if (!col) return { missing: `no column ${quoteIdent(override)} (--cursor)` };
    if (isArray(col) || !(TIME_TYPES.has(col.typname) || INT_TYPES.has(col.typname))) {
      return { missing: `column ${quoteIdent(override)} (--cursor) is ${col.declaredType}: a cursor is a timestamp or an integer that grows on every change` };
    }
    return { column: col };
  }
  const rank = (c: PgColumn) => CURSOR_NAMES.indexOf(fold(c.name) as (typeof CURSOR_NAMES)[number]);
  const named = columns.filter((c) => rank(c) >= 0);
  const usable = named
    .filter((c) => !isArray(c) && TIME_TYPES.has(c.typname))
    .sort((a, b) => Number(b.notNull) - Number(a.notNull) || Number(b.typname === 'timestamptz') - Number(a.typname === 'timestamptz') || rank(a) - rank(b));
  if (usable.length > 0) return { column: usable[0] };
  const wrong = named.map((c) => `${quoteIdent(c.name)} is ${c.declaredType}`);
  return {
    missing:
      `no cursor column: none named ${CURSOR_NAMES.slice(0, 5).join(', ')}, … is a timestamp` +
      (wrong.length > 0 ? ` (${wrong.join(', ')})` : '') +
      '; add one that every insert and update sets (a timestamptz NOT NULL DEFAULT now() kept by a BEFORE UPDATE trigger, as in postgres/init/01-schema.sql), or name one with --cursor',
  };
}

/** A nullable timestamp or date column named like a tombstone (NULL while the row lives), never the cursor. */
export function chooseSoftDelete(columns: readonly PgColumn[], cursor: string): PgColumn | undefined {
  const rank = (c: PgColumn) => SOFT_DELETE_NAMES.indexOf(fold(c.name) as (typeof SOFT_DELETE_NAMES)[number]);
  return columns
    .filter((c) => c.name !== cursor && rank(c) >= 0 && !c.notNull && !isArray(c) && TOMBSTONE_TYPES.has(c.typname))
    .sort((a, b) => rank(a) - rank(b))[0];
}

/** The spec a proposal would load as, enough for judgeSource (file and name are for messages only). */
export function proposalSpec(p: Proposal, name: string, file: string): PipelineSpec {
  return {
    name,
    file,
    source: {
      schema: p.schema,
      table: p.table,
      primaryKey: p.primaryKey,
      cursor: p.cursor,
      softDeleteMode: 'keep',
      nullCursor: 'include',
      onRecreate: 'stop',
      hardDeleteMode: 'remove',
      ...(p.softDelete && { softDelete: p.softDelete }),
      ...(p.exclude && { columns: { exclude: p.exclude } }),
    },
    target: { schema: 'main', table: name },
    batchSize: 10_000,
    schedule: '*/30 * * * * *',
    timezone: 'UTC',
    enabled: true,
    schemaEvolution: 'evolve',
    horizon: { marginMs: 1000, lookbackSeconds: 300 },
  };
}

/**
 * The live rules on a proposal: any error skips the table (a missing `(cursor, key…)` index as
 * `needs-index`, with its CREATE INDEX), warnings go with the file.
 */
export function judgeProposal(p: Proposal, facts: SourceFacts): { skip: Skip } | { warnings: LiveIssue[] } {
  const issues = judgeSource(proposalSpec(p, p.table, `${p.table}.yml`), facts);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length === 0)
    return { warnings: [...issues.filter((i) => i.severity === 'warning'), ...(facts.relation ? untouchedCursor(p, facts.relation) : [])] };
  const first = errors.find((e) => e.check === 'privilege') ?? errors[0];
  const reason: SkipReason =
    first.check === 'privilege' ? 'not-readable' : first.check === 'index' ? 'needs-index' : first.check === 'type' ? 'unmappable-type' : 'other';
  const fixes = errors.flatMap((e) => (e.fix ? [e.fix] : []));
  return {
    skip: {
      schema: p.schema,
      table: p.table,
      reason,
      message: errors.map((e) => e.message).join('; '),
      ...(fixes.length > 0 && { fix: fixes.join('\n') }),
    },
  };
}
