/**
 * replay-plan: what `pgduck replay` will do, as data. Pure (no I/O): `--dry-run` prints it, tests
 * assert on it, and run-replay.ts executes it.
 *
 * Two ways to apply history files, chosen here:
 *
 * - `replace` — rebuilding the table from its whole history (the table is dropped, missing or
 *   empty, and no --from/--to narrows the history). Every file is applied in sequence order, a batch
 *   replacing its keys, a backfill batch updating its columns and a deletes file removing (or, under
 *   hard_delete_mode mark, marking) the keys a reconcile found gone, exactly as they were applied:
 *   a row's newest version wins even when its cursor went backwards (upsert.ts), so the result is the
 *   table the runner built. The table is built beside the old one (`<table>__pgduck_replay`) and
 *   swapped in at the end, in one transaction: until then readers see the table as it was.
 *   "Whole history" starts at the last complete pass over the source: the last batch read from the
 *   beginning (the first run, or the first after a `reset`) whose pass reached the end of the table.
 *   That pass re-read every row the source then held, so older files are superseded by it (and rows
 *   hard-deleted before it stay gone; those hard-deleted after it are in its deletes files). Without a
  complete pass, every file; a history in which no batch was read from the beginning is refused
  (REPLAY_NO_PASS) unless --from takes it as it is.
 * - `monotonic` — everything else: onto a table that holds rows, or a part of the history. Files
 *   older than the table must not set rows back. The cursor alone cannot say which version is newer
 *   (it can go backwards), the history can. A row's newest state is the last batch file holding its
 *   key plus the backfill batches after it; a row is replayed only when that whole state lies in the
 *   replayed range (no file after --to holds its key), and then as the runner built it: its last
 *   batch (only where the table's row has a cursor <= the file's: a table newer than its history
 *   keeps its rows), then those backfill updates. Every file is applied in one transaction, so an
 *   interrupted replay changes nothing. A deletes file removes (marks) a key only where no later batch
 *   file holds it (a key deleted, then inserted again, stays) and its later files all lie in the range,
 *   and never a row whose cursor is newer than the one the removed row had. Replaying files onto the
 *   table they were synced into therefore changes nothing, whatever the range and however often.
 *
 * Columns: each file is read with its own columns, mapped as the runner mapped them (the catalog
 * description in the file's metadata, else the state store's snapshot, else the Parquet type). A
 * column is known by its attnum across renames; its name and type are those of the newest file that
 * has it. Under `evolve` the table holds every column the replayed files have (a column dropped from
 * the source stays, NULL for later rows; one dropped and added again under the same name is the newer
 * one); under `freeze`/`fail`, the columns of the first replayed batch. An existing table keeps every
 * column it has (replay never drops or retypes one) and gains the columns it lacks (`evolve`). A value
 * whose file type differs from the table's column (an older file, before a widening) is cast.
 */
import { PgduckError, type ErrorCode } from '../errors/pgduck-error.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { targetLabel, type TargetColumn } from '../duckdb/target-table.js';
import { DELETED_AT_COLUMN } from '../schema/deleted-at-column.js';
import type { ColumnMapping } from '../schema/column.js';
import { isRefused, mapColumn } from '../schema/type-map.js';
import { pgColumnFromFormatType } from '../schema/pg-column-from-format-type.js';
import { mappingForFile } from '../schema/typed-parquet.js';
import { fileTransport } from '../parquet/history-metadata.js';
import { alterUsing } from '../schema/type-change.js';
import { isSelected } from '../schema/column-selection.js';
import { quoteIdent } from '../sql/identifier.js';
import type { SourceColumnRecord } from '../state/checkpoint-store.js';
import type { DescribedFile } from './read-history.js';
import { completePasses, knownToHoldNoPassStart } from './complete-passes.js';
import { dirname } from 'node:path';

export type ReplayMode = 'replace' | 'monotonic';

export interface ReplayOptions {
  from?: number;
  to?: number;
  dropTarget: boolean;
}

/** One column of a history file, mapped. */
export interface FileColumn {
  parquetName: string;
  /** `a:<attnum>` (stable across renames) or, for an old file of a column the state store does not know, `n:<name>`. */
  identity: string;
  mapping: ColumnMapping;
  /** Where the mapping came from: the file's own metadata, the state store's snapshot, or only the Parquet type. */
  via: 'metadata' | 'state store' | 'Parquet type';
}

export type MappedFile = DescribedFile & { columns: FileColumn[] };

export interface PlannedColumn {
  parquetName: string;
  /** The table's column it fills. */
  target: string;
  /** DuckDB expression over the Parquet column giving the table column's value. */
  expr: string;
}

export interface PlannedFile {
  /** Place of the file in the whole history (applied order), from 0. */
  order: number;
  file: MappedFile;
  columns: PlannedColumn[];
  notLoaded: { parquetName: string; reason: string }[];
}

export interface ReplayPlan {
  pipeline: string;
  /** The table's name in its DuckDB schema (spec.target.schema). */
  table: string;
  /** The table as people name it: `orders`, or `analytics.orders` outside `main`. */
  label: string;
  mode: ReplayMode;
  /** Why this mode, in words. */
  why: string;
  /** The table is built beside the old one under this name and swapped in at the end; null: applied in place. */
  buildAs: string | null;
  dropTarget: boolean;
  range: { from: number; to: number; explicit: boolean; passStart: number | null; first: number; last: number };
  /** The table's columns when it is built (buildAs), in order. */
  create: TargetColumn[] | null;
  /** Columns added to the existing table (in place). */
  add: TargetColumn[];
  /** Files applied, in order. */
  files: PlannedFile[];
  /** `monotonic`: the files whose keys say which files hold each row's newest state (every one from range.from on, after --to too). */
  keyFiles: PlannedFile[];
  /**
   * Rows marked gone are removed at the end: the pipeline is at hard_delete_mode remove now, while
   * deletes files of its mark days marked them (the runner's drift check removes them the same way).
   */
  removeMarked: boolean;
  notes: string[];
}

export interface ReplayInput {
  spec: Pick<PipelineSpec, 'name' | 'source' | 'target' | 'schemaEvolution'>;
  /** Every history file of the pipeline, in applied order, mapped. */
  files: MappedFile[];
  /** The table as it is now (canonical types), null when it does not exist. */
  target: { columns: TargetColumn[]; primaryKey: string[] | null; rows: number } | null;
  options: ReplayOptions;
  /** DuckDB's own spelling of a type (`TIMESTAMPTZ` → `TIMESTAMP WITH TIME ZONE`). */
  canonical: (duckType: string) => string;
  /** The state store says the newest pass reached the end of the table (newestPassDone in complete-passes.ts); false without one. */
  newestPassDone?: boolean;
}

/** The history cannot be replayed as asked: nothing was written. */
export class ReplayRefused extends PgduckError {
  constructor(message: string, details: { code?: ErrorCode; fix?: string } = {}) {
    super(message, { kind: 'needs-action', code: details.code ?? 'REPLAY_REFUSED', fix: details.fix });
    this.name = 'ReplayRefused';
  }
}

const TRANSPORT_PG_TYPE: Record<string, string> = {
  int16: 'smallint',
  int32: 'integer',
  int64: 'bigint',
  float32: 'real',
  float64: 'double precision',
  bool: 'boolean',
  utf8: 'text',
};

/** Map each column of a file as the runner did: from its metadata; for older files, from the state store's snapshot or the Parquet type. */
export function resolveFileColumns(file: DescribedFile, snapshot: SourceColumnRecord[]): FileColumn[] {
  if (file.meta?.kind === 'deletes') {
    // A deletes file (src/repair/deletes-file.ts) holds the table's own values: read as they are, the
    // textColumns (DuckDB's text of an INTERVAL or TIMETZ) cast back.
    const text = file.meta.textColumns ?? [];
    return file.meta.columns.map((pg) => {
      const m = mapColumn(pg);
      if (isRefused(m)) throw new ReplayRefused(`${file.path}: column "${pg.name}" (${pg.declaredType}) has no mapping: ${m.reason}`);
      const loadExpr = text.includes(pg.name) ? (c: string) => `CAST(${c} AS ${m.duckType})` : (c: string) => c;
      return { parquetName: pg.name, identity: `a:${pg.attnum}`, mapping: { ...m, loadExpr }, via: 'metadata' as const };
    });
  }
  if (file.meta) {
    const transport = fileTransport(file.meta);
    return file.meta.columns.map((pg) => {
      const m = mapColumn(pg);
      if (isRefused(m)) throw new ReplayRefused(`${file.path}: column "${pg.name}" (${pg.declaredType}) has no mapping: ${m.reason}`);
      // A typed file (format 2) holds the column in its DuckDB type already: read as it is.
      return { parquetName: pg.name, identity: `a:${pg.attnum}`, mapping: mappingForFile(m, transport), via: 'metadata' as const };
    });
  }
  return file.parquetColumns.map((pc) => {
    const snap = snapshot.find((s) => s.name === pc.name);
    if (snap) {
      const m = mapColumn(pgColumnFromFormatType(pc.name, snap.attnum, snap.baseType ?? snap.pgType, snap.pgType));
      if (!isRefused(m) && (pc.transport === null || m.transport === pc.transport)) {
        return { parquetName: pc.name, identity: `a:${snap.attnum}`, mapping: m, via: 'state store' as const };
      }
    }
    const m = mapColumn(pgColumnFromFormatType(pc.name, snap?.attnum ?? 0, TRANSPORT_PG_TYPE[pc.transport ?? 'utf8']));
    if (isRefused(m)) throw new ReplayRefused(`${file.path}: column "${pc.name}" cannot be read`);
    return { parquetName: pc.name, identity: snap ? `a:${snap.attnum}` : `n:${pc.name}`, mapping: m, via: 'Parquet type' as const };
  });
}

interface Identity {
  id: string;
  firstOrder: number;
  lastOrder: number;
  /** Name and canonical type in the newest file that has it. */
  name: string;
  type: string;
}

export function planReplay(input: ReplayInput): ReplayPlan {
  const { spec, files, target, options, canonical } = input;
  const table = spec.target.table;
  // In messages: `orders`, or `analytics.orders` outside `main`.
  const label = targetLabel(spec.target);
  const keys = spec.source.primaryKey;
  const cursor = spec.source.cursor;
  const evolve = spec.schemaEvolution === 'evolve';
  if (files.length === 0) throw new ReplayRefused(`no Parquet history for ${spec.name}`);

  // Where the last complete pass over the source began (complete-passes.ts): a pass still under way
  // (or one that failed) does not count, as the table still holds rows it has not re-read. Without
  // that proof, an earlier pass is taken: more files, same result.
  const passStart: number | null = completePasses(files, input.newestPassDone === true)[0]?.start ?? null;
  const first = files[0].seq;
  const last = files[files.length - 1].seq;
  const explicit = options.from !== undefined || options.to !== undefined;
  const fresh = options.dropTarget || target === null || target.rows === 0;
  // Without a complete pass a rebuild starts at the first file, which must then begin a pass (a first
  // bootstrap still under way does). One in which no batch was read from the beginning of the table is not
  // the table's whole history (found by review: after PARQUET_DIR changed, a replay rebuilt 3 of 20 rows and
  // said "whole history", and the next run went on from the checkpoint). Refused unless --from takes the
  // files as they are.
  if (fresh && options.from === undefined && passStart === null && knownToHoldNoPassStart(files)) {
    const dir = files[0].kind === 'batch' ? dirname(files[0].path) : dirname(dirname(files[0].path));
    throw new ReplayRefused(
      `the Parquet history of ${spec.name} in ${dir} (seq ${first}…${last}) holds no batch read from the beginning of the table (a first run, or the first after a reset): ` +
        `it is not the table's whole history (PARQUET_DIR changed, or its first files were moved or deleted), and ${label} rebuilt from it would lack every row ` +
        `those files do not hold, which the next run would not read again (the checkpoint is past them). ${label}, the history and the checkpoint are left as they were`,
      {
        code: 'REPLAY_NO_PASS',
        fix:
          `pgduck reset ${spec.name}, then pgduck run: reads every row from Postgres again (into ${label}, kept or created), a pass a replay rebuilds from; ` +
          `or pgduck replay ${spec.name} --from ${first} to take these files as they are (the rows they lack stay missing until a reset)`,
      },
    );
  }
  const from = options.from ?? passStart ?? first;
  const to = options.to ?? last;
  const applied = files.filter((f) => f.seq >= from && f.seq <= to);
  if (applied.length === 0 || from > to)
    throw new ReplayRefused(`no history file of ${spec.name} between ${from} and ${to} (its history holds ${first}…${last})`);
  const mode: ReplayMode = fresh && !explicit ? 'replace' : 'monotonic';
  const notes: string[] = [];

  // Each column's identity across the whole history: its newest name and type, and who owns a name.
  const idents = new Map<string, Identity>();
  let order = 0;
  for (const f of files) {
    for (const c of f.columns) {
      order++;
      const type = canonical(c.mapping.duckType);
      const e = idents.get(c.identity);
      if (!e) idents.set(c.identity, { id: c.identity, firstOrder: order, lastOrder: order, name: c.mapping.name, type });
      else Object.assign(e, { lastOrder: order, name: c.mapping.name, type });
    }
  }
  const owners = new Map<string, Identity>();
  for (const i of idents.values()) {
    const o = owners.get(i.name);
    if (!o || o.lastOrder < i.lastOrder) owners.set(i.name, i);
  }
  const columnOf = (c: FileColumn): string | null => {
    if (!evolve) return c.parquetName;
    const i = idents.get(c.identity)!;
    return owners.get(i.name) === i ? i.name : null;
  };
  // source.columns as it is now, exactly as a sync reads it (column-selection.ts): history written
  // before a column was excluded still holds it, and replay must not bring it back. By the name the
  // column has in the table (its newest name under evolve), the name a sync would select it by.
  const selected = (name: string) => isSelected(spec.source, name);

  // The columns the replayed files bring, in the order they first appear.
  const appliedIdents = new Set(applied.flatMap((f) => f.columns.map((c) => c.identity)));
  const historyColumns: TargetColumn[] = (
    evolve
      ? [...idents.values()]
          .filter((i) => appliedIdents.has(i.id) && owners.get(i.name) === i)
          .sort((a, b) => a.firstOrder - b.firstOrder)
          .map((i) => ({ name: i.name, type: i.type }))
      : (applied.find((f) => f.kind === 'batch') ?? applied[0]).columns.map((c) => ({ name: c.parquetName, type: canonical(c.mapping.duckType) }))
  ).filter((c) => selected(c.name));

  let create: TargetColumn[] | null = null;
  let add: TargetColumn[] = [];
  let columns: TargetColumn[];
  // A table kept (not dropped) that holds a column the selection now leaves out: the sync refuses it
  // (plan-drift.ts: pgduck never drops synced data, and loading rows without it would empty it row by
  // row), and so does replay, with the same ways out.
  const keptTable = options.dropTarget ? null : target;
  const historyNames = new Set([...idents.values()].map((i) => i.name));
  const leftOut = (keptTable?.columns ?? []).filter((c) => historyNames.has(c.name) && !selected(c.name)).map((c) => c.name);
  if (leftOut.length > 0) {
    const list = leftOut.map((n) => `"${n}"`).join(', ');
    const tableSql = `${spec.target.schema === 'main' ? '' : `${quoteIdent(spec.target.schema)}.`}${quoteIdent(table)}`;
    throw new ReplayRefused(
      `source.columns leaves out ${list}, which ${label} holds (synced before the file changed): replaying without ${leftOut.length > 1 ? 'them' : 'it'} would empty ${leftOut.length > 1 ? 'them' : 'it'} row by row. ` +
        `Rebuild the table without ${leftOut.length > 1 ? 'them' : 'it'} (pgduck replay ${spec.name} --drop-target), or drop ${leftOut.length > 1 ? 'them' : 'it'} from ${label} first ` +
        `(${leftOut.map((n) => `ALTER TABLE ${tableSql} DROP COLUMN ${quoteIdent(n)}`).join('; ')})`,
    );
  }
  // hard_delete_mode mark: the table has pgduck's mark column, last, as the drift check creates it, and
  // a deletes file that marked rows needs it even when the pipeline has switched back to remove since.
  const marks =
    spec.source.hardDeleteMode === 'mark' || applied.some((f) => f.kind === 'deletes' && f.meta?.deletes?.mode === 'mark')
      ? [{ name: DELETED_AT_COLUMN, type: canonical('TIMESTAMPTZ') }]
      : [];
  if (fresh) {
    // A table kept (not dropped, but empty) keeps its columns; --drop-target starts from the history alone.
    const kept = keptTable ? keptTable.columns : [];
    create = [...kept, ...historyColumns.filter((h) => !kept.some((k) => k.name === h.name))];
    create.push(...marks.filter((m) => !create!.some((c) => c.name === m.name)));
    columns = create;
  } else {
    const t = target!;
    if (t.primaryKey && t.primaryKey.join('\u0000') !== keys.join('\u0000')) {
      throw new ReplayRefused(
        `${label} is keyed on (${t.primaryKey.join(', ')}), the pipeline on (${keys.join(', ')}): rebuild it with pgduck replay ${spec.name} --drop-target`,
      );
    }
    if (evolve) add = historyColumns.filter((h) => !t.columns.some((c) => c.name === h.name));
    add.push(...marks.filter((m) => !t.columns.some((c) => c.name === m.name) && !add.some((c) => c.name === m.name)));
    columns = [...t.columns, ...add];
  }
  for (const k of [...keys, cursor]) {
    if (!columns.some((c) => c.name === k)) throw new ReplayRefused(`the history of ${spec.name} has no column "${k}" (primary key or cursor of the pipeline)`);
  }

  const plan = (f: MappedFile): PlannedFile => {
    const out: PlannedFile = { order: files.indexOf(f), file: f, columns: [], notLoaded: [] };
    for (const c of f.columns) {
      const name = columnOf(c);
      if (name !== null && !selected(name)) {
        out.notLoaded.push({ parquetName: c.parquetName, reason: 'source.columns leaves it out' });
        continue;
      }
      const col = name === null ? undefined : columns.find((t) => t.name === name);
      if (!col) {
        out.notLoaded.push({
          parquetName: c.parquetName,
          reason: name === null ? 'a newer column of the same name replaced it' : `${label} has no such column (schema_evolution: ${spec.schemaEvolution})`,
        });
        continue;
      }
      const fileType = canonical(c.mapping.duckType);
      const base = c.mapping.loadExpr(quoteIdent(c.parquetName));
      const expr = fileType === col.type ? base : (alterUsing(base, fileType, col.type) ?? `CAST(${base} AS ${col.type})`);
      out.columns.push({ parquetName: c.parquetName, target: col.name, expr });
    }
    for (const k of [...keys, cursor]) {
      if (!out.columns.some((c) => c.target === k))
        throw new ReplayRefused(`${f.path} has no column for "${k}" (primary key or cursor): it cannot be replayed`);
    }
    const guessed = f.columns.filter((c) => c.via === 'Parquet type' && c.mapping.transport === 'utf8');
    if (guessed.length > 0) {
      notes.push(
        `${f.path} predates column metadata and the state store does not describe ${guessed.map((c) => `"${c.parquetName}"`).join(', ')}: read as text and cast to the table's type`,
      );
    }
    return out;
  };
  const plannedFiles = applied.map(plan);
  const keyFiles = mode === 'monotonic' ? files.filter((f) => f.seq >= from).map((f) => plannedFiles.find((p) => p.file === f) ?? plan(f)) : [];

  if (!explicit && passStart !== null && passStart > first) {
    notes.push(
      `files before ${passStart} are not replayed: batch ${passStart} began a new full pass over the source (a first run, or the first after a reset), which re-read every row`,
    );
  }
  if (options.dropTarget && explicit) notes.push(`the rebuilt table holds only rows of files ${from}…${to}`);
  const why =
    mode === 'replace'
      ? `rebuilding ${label} from its whole history (${from}…${to}): every file in sequence order, each replacing its rows as the runner applied them`
      : fresh
        ? `a part of the history (${from}…${to}) into a new table: each row as the newest file holding it has it, unless a file after ${to} holds it`
        : `${label} holds rows: a row is replayed only when its newest state lies in ${from}…${to} (no later history file holds its key), never over a newer cursor, all in one transaction: nothing moves backwards`;
  return {
    pipeline: spec.name,
    table,
    label,
    mode,
    why,
    buildAs: fresh ? `${table}__pgduck_replay` : null,
    dropTarget: options.dropTarget,
    range: { from, to, explicit, passStart, first, last },
    create,
    add,
    files: plannedFiles,
    keyFiles,
    // Not where the source has a column of that name (allowed under remove): then it holds source data.
    removeMarked: spec.source.hardDeleteMode === 'remove' && marks.length > 0 && !historyColumns.some((h) => h.name === DELETED_AT_COLUMN),
    notes: [...new Set(notes)],
  };
}
