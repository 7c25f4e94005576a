/**
 * DDL and catalog reads for a synced DuckDB table. Synced tables carry the primary key and no
 * secondary index: DuckDB's ALTER TYPE fails on tables with any index besides it (docs/architecture.md#facts-duckdb).
 */
import { PgduckError } from '../errors/pgduck-error.js';
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import { DELETED_AT_COLUMN } from '../schema/deleted-at-column.js';
import type { LakeSession, Row } from './lake.js';
import { faultPoint } from '../faults/fault-point.js';

export interface TargetColumn {
  name: string;
  type: string;
}

/** A DuckDB table of the warehouse file: its schema (`main` unless target.schema says otherwise) and name. */
export interface TargetName {
  schema: string;
  table: string;
}

export function targetRef(session: Pick<LakeSession, 'catalog'>, target: TargetName): string {
  return `${session.catalog}.${schemaRef(target.schema)}.${quoteIdent(target.table)}`;
}

/** `main` stays unquoted, so the SQL of pipelines without a schema reads as it always did (plan output). */
export function schemaRef(schema: string): string {
  return schema === 'main' ? 'main' : quoteIdent(schema);
}

/** The same table under another name in its schema (a rebuild's or a replay's temporary copy). */
export function sibling(target: TargetName, table: string): TargetName {
  return { schema: target.schema, table };
}

/**
 * The target as people read it in messages and plans: `orders` in `main` (as before schemas
 * existed), `analytics.orders` elsewhere; a part holding a dot or a quote is double-quoted.
 */
export function targetLabel(target: TargetName): string {
  const part = (p: string) => (/[."]/.test(p) ? `"${p.replace(/"/g, '""')}"` : p);
  return target.schema === 'main' ? target.table : `${part(target.schema)}.${part(target.table)}`;
}

/** `CREATE SCHEMA IF NOT EXISTS` for a target outside `main` (docs/architecture.md: target schemas). */
export async function ensureTargetSchema(session: LakeSession, target: TargetName): Promise<void> {
  if (target.schema === 'main') return;
  await session.run(`CREATE SCHEMA IF NOT EXISTS ${session.catalog}.${quoteIdent(target.schema)}`);
}

/**
 * Columns of the target table in order, or null when it does not exist yet. Not from duckdb_columns():
 * that binds every view of every catalog, DuckDB's own included, 20–30 ms on each run's fresh
 * instance against 2–7 ms for these two (docs/architecture.md, "Facts: DuckDB").
 */
export async function describeTarget(session: LakeSession, target: TargetName): Promise<TargetColumn[] | null> {
  return (await describeTargetAndSource(session, target))?.columns ?? null;
}

/**
 * describeTarget, and from the same catalog row the source the table records (targetSource) and its
 * row slots: DuckDB's `estimated_size`, every row stored in the table's row groups, deleted ones
 * included (an update deletes one and adds one), until the table is compacted (compactTarget).
 */
export async function describeTargetAndSource(
  session: LakeSession,
  target: TargetName,
): Promise<{ columns: TargetColumn[]; source: string | null; rowSlots: number } | null> {
  const found = await tableCatalogRow(session, target);
  if (found === null) return null;
  // '.' first: the client drops a leading U+FEFF from every text it decodes (found by review: a column
  // named "\uFEFFcode", as tables loaded from a CSV header with a BOM have, read as "code").
  const rows = await session.all(`SELECT '.' || column_name AS column_name, column_type FROM (DESCRIBE ${targetRef(session, target)})`);
  return {
    columns: rows.map((r) => ({ name: String(r.column_name).slice(1), type: String(r.column_type) })),
    source: recordedSource(found.comment),
    rowSlots: Number(found.estimated_size ?? 0),
  };
}

/**
 * How a target holds its key: `index` declares it as the table's PRIMARY KEY, which DuckDB keeps as
 * an ART index of every key (loaded on the first write after each ATTACH and rewritten by every
 * checkpoint: docs/architecture.md, "Facts: DuckDB"); without it (`target.key_index: false`) each key
 * column carries a comment, `pgduck key column <position>`, that names the key as the PRIMARY KEY
 * would (targetPrimaryKey reads either). Column comments follow a rename and a type change.
 */
export interface TargetKey {
  columns: string[];
  index: boolean;
}

/** The key of a pipeline's target as its file says: `target.key_index` (default true). */
export function keyOf(spec: { source: { primaryKey: string[] }; target: { keyIndex?: false } }): TargetKey {
  return { columns: spec.source.primaryKey, index: spec.target.keyIndex !== false };
}

const KEY_COMMENT = 'pgduck key column ';

/** The table definition's key clause: the PRIMARY KEY, or nothing (the key is commented: keyComments). */
export function keyClause(key: TargetKey): string[] {
  return key.index ? [`PRIMARY KEY (${key.columns.map(quoteIdent).join(', ')})`] : [];
}

/** The statements that record an unindexed key on its columns (none for an indexed one). `ref`: the table as the statements name it. */
export function keyComments(ref: string, key: TargetKey): string[] {
  if (key.index) return [];
  return key.columns.map((c, i) => `COMMENT ON COLUMN ${ref}.${quoteIdent(c)} IS ${quoteLiteral(`${KEY_COMMENT}${i + 1}`)}`);
}

export async function createTarget(
  session: LakeSession,
  target: TargetName,
  columns: TargetColumn[],
  key: TargetKey,
  source: string | null = null,
): Promise<void> {
  if (key.index) refuseUnindexableKey(target, columns, key);
  const defs = [...columns.map((c) => `${quoteIdent(c.name)} ${c.type}`), ...keyClause(key)];
  await ensureTargetSchema(session, target);
  const ref = targetRef(session, target);
  const create = `CREATE TABLE IF NOT EXISTS ${ref} (\n  ${defs.join(',\n  ')}\n)`;
  // The table, its key's record (keyless) and its source's at once: a crash between them would leave a table with no known key.
  await session.transaction(async () => {
    await session.run(create);
    if (!key.index) for (const sql of keyComments(ref, key)) await session.run(sql);
    if (source !== null) await session.run(sourceCommentSql(ref, source));
  });
}

/** The table comment naming the source a target's rows come from (`pgduck source public.orders`). */
const SOURCE_COMMENT = 'pgduck source ';

/**
 * The source a target table was created for (its comment, createTarget), `schema.table`; null when it
 * names none (made by hand, or by a pgduck before it recorded one).
 */
export async function targetSource(session: LakeSession, target: TargetName): Promise<string | null> {
  return recordedSource((await tableCatalogRow(session, target))?.comment);
}

function recordedSource(comment: unknown): string | null {
  return typeof comment === 'string' && comment.startsWith(SOURCE_COMMENT) ? comment.slice(SOURCE_COMMENT.length) : null;
}

/** Record the source of a table made before pgduck recorded one (its first bootstrap claims it). */
export async function claimTarget(session: LakeSession, target: TargetName, source: string): Promise<void> {
  await session.run(sourceCommentSql(targetRef(session, target), source));
}

function sourceCommentSql(ref: string, source: string): string {
  return `COMMENT ON TABLE ${ref} IS ${quoteLiteral(`${SOURCE_COMMENT}${source}`)}`;
}

/** The table's comment and row slots in duckdb_tables() (as a row: `comment`, `estimated_size`), null when the table does not exist. */
async function tableCatalogRow(session: LakeSession, target: TargetName): Promise<Row | null> {
  const rows = await session.all(`SELECT comment, estimated_size FROM duckdb_tables() WHERE ${catalogWhere(session, target)}`);
  return rows[0] ?? null;
}

/**
 * DuckDB's ART index takes no LIST key (a Postgres array key column): as a PRIMARY KEY the CREATE
 * fails ("Invalid type for index key"). Said before it, with what to do: such a key is held in column
 * comments instead (target.key_index: false).
 */
function refuseUnindexableKey(target: TargetName, columns: TargetColumn[], key: TargetKey): void {
  // DuckDB's ART indexes take neither lists nor intervals ("Invalid type for index key", found by review).
  const kindOf = (type: string | undefined) => (type?.endsWith(']') ? 'an array (a DuckDB LIST)' : type === 'INTERVAL' ? 'an interval' : null);
  const refused = key.columns.flatMap((k) => {
    const kind = kindOf(columns.find((c) => c.name === k)?.type);
    return kind ? [`"${k}" is ${kind}`] : [];
  });
  if (refused.length === 0) return;
  throw new PgduckError(
    `the DuckDB table ${targetLabel(target)} cannot have its primary key as an index: ${refused.join(', ')}, which DuckDB cannot index; nothing was created`,
    {
      kind: 'needs-action',
      code: 'KEY_NOT_INDEXABLE',
      fix: 'set target.key_index: false in the pipeline file (the key is then kept in column comments, and pgduck verify reports a key held twice)',
    },
  );
}

export { DELETED_AT_COLUMN };

/** Add the mark column to the target unless it has it (hard_delete_mode: mark). True when it was added. */
export async function ensureDeletedAtColumn(session: LakeSession, target: TargetName): Promise<boolean> {
  const columns = await describeTarget(session, target);
  if (!columns || columns.some((c) => c.name === DELETED_AT_COLUMN)) return false;
  await addColumn(session, target, { name: DELETED_AT_COLUMN, type: 'TIMESTAMPTZ' });
  return true;
}

/**
 * The columns whose NULL makes a row current: the tombstone (soft_delete), then the mark column when
 * the table has one that is pgduck's (not a source column of that name, synced under hard_delete_mode remove).
 */
export function currentViewColumns(softDelete: string | undefined, targetColumns: readonly { name: string }[], markIsSourceColumn = false): string[] {
  const out = softDelete ? [softDelete] : [];
  if (!markIsSourceColumn && targetColumns.some((c) => c.name === DELETED_AT_COLUMN)) out.push(DELETED_AT_COLUMN);
  return out;
}

/**
 * `<table>_current`: the rows whose tombstone is not set and which reconcile has not marked gone, in
 * the table's schema. Written without a catalog or schema so the view binds inside whichever catalog
 * the file is opened as (attached by the runner, opened by a user); DuckDB binds a view's names in its
 * own schema (measured).
 */
export async function createCurrentView(session: LakeSession, target: TargetName, nullColumns: string[]): Promise<void> {
  const { table } = target;
  // Back to the session's own default afterwards: `memory` for the runner's attached files, the file itself when opened directly.
  const [was] = await session.all('SELECT current_database() AS db, current_schema() AS s');
  await session.run(`USE ${session.catalog}.${schemaRef(target.schema)}`);
  try {
    const where = nullColumns.map((c) => `${quoteIdent(c)} IS NULL`).join(' AND ');
    await session.run(`CREATE OR REPLACE VIEW ${quoteIdent(`${table}_current`)} AS SELECT * FROM ${quoteIdent(table)} WHERE ${where}`);
  } finally {
    await session.run(`USE ${quoteIdent(String(was.db))}.${quoteIdent(String(was.s))}`);
  }
}

/**
 * Make `<table>_current` match the pipeline file and the table: created when `soft_delete` is set or
 * the table has the mark column (also when either was added to an existing pipeline, or soft_delete
 * names another column now), dropped when neither is left. Only a view of the shape createCurrentView
 * writes is ever dropped.
 */
export async function syncCurrentView(session: LakeSession, target: TargetName, softDelete: string | undefined, markIsSourceColumn = false): Promise<void> {
  const { table } = target;
  const view = `${table}_current`;
  const rows = await session.all(
    `SELECT sql FROM duckdb_views() WHERE database_name = ${quoteLiteral(session.catalogName)} AND schema_name = ${quoteLiteral(target.schema)} AND view_name = ${quoteLiteral(view)}`,
  );
  const sql = rows.length > 0 ? String(rows[0].sql) : null;
  // DuckDB stores the view's SQL re-printed (quotes only where needed): compare without quotes.
  const bare = (text: string) => text.replace(/"/g, '');
  // Outside `main`, DuckDB prints the view's schema before its name (measured): left out of the comparison.
  const stored = sql === null ? null : bare(sql).replace(`CREATE VIEW ${bare(target.schema)}.`, 'CREATE VIEW ');
  const shape = `CREATE VIEW ${bare(view)} AS SELECT * FROM ${bare(table)} WHERE (`;
  const wanted = currentViewColumns(softDelete, (await describeTarget(session, target)) ?? [], markIsSourceColumn);
  if (wanted.length > 0) {
    // DuckDB prints `WHERE (a IS NULL);` for one condition, `WHERE ((a IS NULL) AND (b IS NULL));` for two (measured).
    const conditions = wanted.length === 1 ? `${bare(wanted[0])} IS NULL` : wanted.map((c) => `(${bare(c)} IS NULL)`).join(' AND ');
    if (stored !== `${shape}${conditions});`) await createCurrentView(session, target, wanted);
  } else if (stored?.startsWith(shape) && stored.endsWith(' IS NULL);')) {
    await session.run(`DROP VIEW IF EXISTS ${targetRef(session, sibling(target, view))}`);
  }
}

export async function dropTarget(session: LakeSession, target: TargetName): Promise<void> {
  await session.run(`DROP VIEW IF EXISTS ${targetRef(session, sibling(target, `${target.table}_current`))}`);
  await session.run(`DROP TABLE IF EXISTS ${targetRef(session, target)}`);
}

/**
 * The target's key in key order, and whether it is the table's PRIMARY KEY index or recorded in
 * column comments (TargetKey); null when it has neither (or does not exist).
 */
export async function targetPrimaryKey(session: LakeSession, target: TargetName): Promise<TargetKey | null> {
  const where = catalogWhere(session, target);
  const rows = await session.all(`SELECT constraint_column_names AS cols FROM duckdb_constraints() WHERE ${where} AND constraint_type = 'PRIMARY KEY'`);
  if (rows.length > 0) return { columns: (rows[0].cols as string[]).map(String), index: true };
  const commented = await session.all(
    `SELECT column_name, CAST(substr(comment, ${KEY_COMMENT.length + 1}) AS INTEGER) AS position FROM duckdb_columns()
     WHERE ${where} AND starts_with(comment, ${quoteLiteral(KEY_COMMENT)}) ORDER BY position`,
  );
  return commented.length === 0 ? null : { columns: commented.map((r) => String(r.column_name)), index: false };
}

export async function addColumn(session: LakeSession, target: TargetName, column: TargetColumn): Promise<void> {
  await session.run(`ALTER TABLE ${targetRef(session, target)} ADD COLUMN ${quoteIdent(column.name)} ${column.type}`);
}

export async function dropColumn(session: LakeSession, target: TargetName, column: string): Promise<void> {
  await session.run(`ALTER TABLE ${targetRef(session, target)} DROP COLUMN ${quoteIdent(column)}`);
}

/**
 * Rename columns in one transaction, so a swap (a → b, b → a) or a crash halfway never leaves the
 * table with some columns renamed: every column first moves to a temporary name, then to its new one.
 */
export async function renameColumns(session: LakeSession, target: TargetName, renames: { from: string; to: string }[]): Promise<void> {
  if (renames.length === 0) return;
  const ref = targetRef(session, target);
  await session.transaction(async () => {
    if (renames.length === 1) {
      await session.run(`ALTER TABLE ${ref} RENAME COLUMN ${quoteIdent(renames[0].from)} TO ${quoteIdent(renames[0].to)}`);
      return;
    }
    const tmp = (i: number) => quoteIdent(`__pgduck_rename_${i}`);
    for (const [i, r] of renames.entries()) await session.run(`ALTER TABLE ${ref} RENAME COLUMN ${quoteIdent(r.from)} TO ${tmp(i)}`);
    for (const [i, r] of renames.entries()) await session.run(`ALTER TABLE ${ref} RENAME COLUMN ${tmp(i)} TO ${quoteIdent(r.to)}`);
  });
}

/**
 * Change a column's type in place. `using` is a DuckDB expression over the quoted column when the
 * plain cast would not do. DuckDB refuses this on key columns: use rebuildTarget for those.
 */
export async function alterColumnType(session: LakeSession, target: TargetName, column: string, type: string, using?: string | null): Promise<void> {
  await session.run(`ALTER TABLE ${targetRef(session, target)} ALTER COLUMN ${quoteIdent(column)} SET DATA TYPE ${type}${using ? ` USING ${using}` : ''}`);
}

/**
 * Rebuild the table with new column types, in one transaction: a copy with the new types and the same
 * primary key, the old table dropped, the copy renamed. DuckDB cannot ALTER the type of a key column,
 * so a widened key (integer → bigint) goes this way; a compaction (compactTarget) copies the columns as
 * they are. `columns` lists every column in order, each with its (possibly new) type and the
 * expression that fills it from the old table (default: a CAST). The table's comment (the source it
 * records, createTarget) and its columns' comments are carried over, the key's as `key` says. The
 * `<table>_current` view is bound by name, so it survives the swap.
 */
export async function rebuildTarget(
  session: LakeSession,
  target: TargetName,
  columns: (TargetColumn & { using?: string | null })[],
  key: TargetKey,
): Promise<void> {
  const { table } = target;
  const ref = targetRef(session, target);
  const tempRef = targetRef(session, sibling(target, `${table}__pgduck_rebuild`));
  const defs = [...columns.map((c) => `${quoteIdent(c.name)} ${c.type}`), ...keyClause(key)];
  const comments = await targetComments(session, target);
  await session.transaction(async () => {
    await session.run(`DROP TABLE IF EXISTS ${tempRef}`);
    await session.run(`CREATE TABLE ${tempRef} (\n  ${defs.join(',\n  ')}\n)`);
    await session.run(`INSERT INTO ${tempRef} SELECT ${columns.map((c) => c.using ?? `CAST(${quoteIdent(c.name)} AS ${c.type})`).join(', ')} FROM ${ref}`);
    faultPoint('mid-rebuild');
    await session.run(`DROP TABLE ${ref}`);
    await session.run(`ALTER TABLE ${tempRef} RENAME TO ${quoteIdent(table)}`);
    if (comments.table !== null) await session.run(`COMMENT ON TABLE ${ref} IS ${quoteLiteral(comments.table)}`);
    for (const c of comments.columns) {
      // The key's record is written below as `key` says (a key_index change turns it on or off).
      if (c.comment.startsWith(KEY_COMMENT) || !columns.some((x) => x.name === c.column)) continue;
      await session.run(`COMMENT ON COLUMN ${ref}.${quoteIdent(c.column)} IS ${quoteLiteral(c.comment)}`);
    }
    for (const sql of keyComments(ref, key)) await session.run(sql);
  });
}

/** The comments on a table and its columns ('.' first: the client drops a leading U+FEFF from every text it decodes). */
async function targetComments(session: LakeSession, target: TargetName): Promise<{ table: string | null; columns: { column: string; comment: string }[] }> {
  const where = catalogWhere(session, target);
  const [row] = await session.all(`SELECT '.' || comment AS comment FROM duckdb_tables() WHERE ${where}`);
  const columns = await session.all(
    `SELECT '.' || column_name AS name, '.' || comment AS comment FROM duckdb_columns() WHERE ${where} AND comment IS NOT NULL`,
  );
  return {
    table: typeof row?.comment === 'string' ? row.comment.slice(1) : null,
    columns: columns.map((c) => ({ column: String(c.name).slice(1), comment: String(c.comment).slice(1) })),
  };
}

function catalogWhere(session: Pick<LakeSession, 'catalogName'>, target: TargetName): string {
  return `database_name = ${quoteLiteral(session.catalogName)} AND schema_name = ${quoteLiteral(target.schema)} AND table_name = ${quoteLiteral(target.table)}`;
}

/** DuckDB's row group size (1.5): the rows it stores and commits in one piece. */
export const DUCKDB_ROW_GROUP_ROWS = 122_880;

/**
 * When a target is due a compaction: it holds at least as many deleted row slots as rows, and at
 * least `minDeleted` of them (a row group's worth by default: below that the space is small). Every
 * update and delete leaves a deleted row slot behind, which DuckDB never reclaims in a table with
 * an index (its vacuum skips those; pgduck turns it off for the others: docs/architecture.md,
 * "Facts: DuckDB"), so without this a table updated for months grows without bound. Copying the
 * table when its deleted slots reach its rows costs at most one copied row per deleted one.
 */
export function compactionDue(rowSlots: number, rows: number, minDeleted: number): boolean {
  const deleted = rowSlots - rows;
  return deleted >= minDeleted && deleted >= rows;
}

/**
 * What a rebuild would not carry over: what people added to a target by hand (an index, a CHECK or
 * UNIQUE constraint, NOT NULL on a column that is not the key, a column DEFAULT). Listed as people
 * would name them; empty for a table as pgduck makes it.
 */
export async function handMadeParts(session: LakeSession, target: TargetName, key: TargetKey): Promise<string[]> {
  const where = catalogWhere(session, target);
  const indexes = await session.all(`SELECT '.' || index_name AS name FROM duckdb_indexes() WHERE ${where}`);
  const constraints = await session.all(
    `SELECT constraint_type AS type, constraint_column_names AS cols FROM duckdb_constraints() WHERE ${where} AND constraint_type <> 'PRIMARY KEY'`,
  );
  const defaults = await session.all(`SELECT '.' || column_name AS name FROM duckdb_columns() WHERE ${where} AND column_default IS NOT NULL`);
  const keyColumn = (cols: unknown) => key.index && Array.isArray(cols) && cols.length === 1 && key.columns.includes(String(cols[0]));
  return [
    ...indexes.map((i) => `index "${String(i.name).slice(1)}"`),
    ...constraints
      .filter((c) => !(c.type === 'NOT NULL' && keyColumn(c.cols)))
      .map((c) => `${String(c.type)} constraint on ${(c.cols as unknown[]).map((x) => `"${String(x)}"`).join(', ')}`),
    ...defaults.map((d) => `a DEFAULT on "${String(d.name).slice(1)}"`),
  ];
}

/**
 * Copy the table onto itself without its deleted row slots (rebuildTarget with every column as it
 * is): one transaction, so a crash leaves the table as it was. Rows, their values, the key, the
 * comments and the `<table>_current` view are unchanged.
 */
export async function compactTarget(session: LakeSession, target: TargetName, key: TargetKey): Promise<void> {
  const columns = (await describeTarget(session, target)) ?? [];
  await rebuildTarget(
    session,
    target,
    columns.map((c) => ({ ...c, using: quoteIdent(c.name) })),
    key,
  );
}
