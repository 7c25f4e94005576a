/**
 * `pgduck init`: reads the live database and writes one pipeline file per table that can be synced
 * as it is, and says for every other table why not and what SQL would change that. Reads only the
 * catalog (plus the bounded NULL-cursor probe validate makes); never writes to Postgres, never
 * overwrites a file without --force.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { DEFAULTS_FILE_NAMES } from '../config/shared-defaults-names.js';
import { loadDefaultsFile } from '../config/load-defaults-file.js';
import { loadPipelines } from '../config/load-pipelines.js';
import type { LiveIssue } from '../live/live-finding.js';
import { judgeProposal, proposePipeline, type Proposal, type Skip } from '../init/propose-pipeline.js';
import { assignNames, renderPipelineFile, tableSelected } from '../init/render-pipeline-file.js';
import { schemaPathFrom } from '../init/schema-location.js';
import { connectPostgres, type PgClient } from '../postgres/connect.js';
import { inspectRole } from '../postgres/inspect-role.js';
import { cursorHasNulls, inspectSource, listRelations } from '../postgres/inspect-source.js';
import { qualified } from '../sql/identifier.js';
import { redactUrl } from '../sql/redact.js';

export interface InitOptions {
  databaseUrl: string | null;
  /** Where the files go (created if missing). */
  out: string;
  /** Postgres schemas to read; default `public`. */
  schemas: string[];
  /** `--tables` globs; empty: every table. */
  tables: string[];
  force: boolean;
  cursor?: string;
  /** Print one JSON document (the InitResult) instead of lines. */
  json?: boolean;
}

/** What init did, for the summary and the tests. */
export interface InitResult {
  written: { file: string; proposal: Proposal; warnings: LiveIssue[] }[];
  kept: { file: string; proposal: Proposal }[];
  skipped: Skip[];
  /** Tables no file here reads, not written because a file here cannot be read (`unreadable`): it may read one of them. */
  blocked: Proposal[];
  /** Pipeline files here whose source table cannot be told, with their first problem. */
  unreadable?: { file: string; problem: string }[];
}

const SKIP_TITLES: Record<Skip['reason'], string> = {
  view: 'not a table',
  partition: 'a partition',
  'no-key': 'no key',
  'no-cursor': 'no cursor candidate',
  'unmappable-type': 'unmappable type',
  'needs-index': 'needs an index',
  'not-readable': 'not readable',
  other: 'refused by the live checks',
};

export async function initCommand(opts: InitOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (!opts.databaseUrl) {
    err.write('no database configured: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB); init reads the live tables\n');
    return KIND_OUTCOMES.config.exitCode;
  }
  if (existsSync(opts.out) && !statSync(opts.out).isDirectory()) {
    err.write(`--out ${opts.out} is not a directory\n`);
    return KIND_OUTCOMES.usage.exitCode;
  }
  const client = await connectPostgres(opts.databaseUrl, { label: 'init', connectTimeoutMs: 10_000, statementTimeoutMs: 30_000 });
  let result: InitResult;
  try {
    result = await inspectAndWrite(client, opts);
  } finally {
    await client.end().catch(() => {});
  }
  const { written, kept, skipped, blocked } = result;
  const unreadable = result.unreadable ?? [];
  if (opts.json) {
    const table = (p: Proposal) => ({
      schema: p.schema,
      table: p.table,
      primaryKey: p.primaryKey,
      keyFrom: p.keyFrom,
      cursor: p.cursor,
      softDelete: p.softDelete ?? null,
    });
    out.write(
      `${JSON.stringify(
        {
          written: written.map((w) => ({
            file: w.file,
            ...table(w.proposal),
            warnings: w.warnings.map((i) => ({ check: i.check, message: i.message, fix: i.fix ?? null })),
          })),
          kept: kept.map((k) => ({ file: k.file, ...table(k.proposal) })),
          skipped: skipped.map((x) => ({ schema: x.schema, table: x.table, reason: x.reason, message: x.message, fix: x.fix ?? null })),
          blocked: blocked.map(table),
          unreadable,
        },
        null,
        2,
      )}\n`,
    );
    return blocked.length > 0 ? KIND_OUTCOMES.config.exitCode : written.length + kept.length + skipped.length === 0 ? 1 : 0;
  }
  if (written.length + kept.length + skipped.length + blocked.length === 0) {
    err.write(
      `no table in schema${opts.schemas.length > 1 ? 's' : ''} ${opts.schemas.join(', ')}` +
        `${opts.tables.length > 0 ? ` matches --tables ${opts.tables.join(' ')}` : ''} of ${redactUrl(opts.databaseUrl)}: nothing written\n`,
    );
    return 1;
  }
  for (const w of written) {
    const p = w.proposal;
    out.write(
      `wrote ${w.file}: ${qualified(p.schema, p.table)}, key ${p.primaryKey.join(', ')} (${p.keyFrom}), cursor ${p.cursor}` +
        `${p.softDelete ? `, soft delete ${p.softDelete}` : ''}${p.exclude ? `, excluding ${p.exclude.join(', ')} (no exact DuckDB type)` : ''}\n`,
    );
    for (const warning of w.warnings) out.write(`  warning: ${warning.message}${warning.fix ? `\n${indent(warning.fix)}` : ''}\n`);
  }
  for (const k of kept) out.write(`kept ${k.file}: it exists (--force overwrites it)\n`);
  for (const s of skipped) {
    out.write(`skipped ${qualified(s.schema, s.table)} (${SKIP_TITLES[s.reason]}): ${s.message}\n`);
    if (s.fix) out.write(`${indent(s.fix)}\n`);
  }
  if (blocked.length > 0) {
    err.write(
      `not written: ${blocked.map((p) => qualified(p.schema, p.table)).join(', ')}: init cannot tell which table ` +
        `${unreadable.map((u) => `${u.file} reads (${u.problem})`).join(', nor which ')}, and a second file for a table one of them reads would sync it twice. ` +
        'Fix that file (or set the variables it reads) and run pgduck init again\n',
    );
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  out.write(
    `${plural(written.length, 'file')} written, ${kept.length} kept, ${plural(skipped.length, 'table')} skipped${blocked.length > 0 ? `, ${blocked.length} not written` : ''}\n`,
  );
  if (skipped.some((s) => s.fix)) out.write('run the SQL above, then pgduck init again: it writes the tables it can now sync and keeps the files it wrote\n');
  // Shared defaults (README, "Shared defaults") reach the files written too: a shared soft_delete, say, applies to tables without one.
  const shared = sharedDefaultsIn(opts.out);
  if (written.length > 0 && shared) out.write(`note: the files written inherit the shared defaults in ${shared} (pgduck plan shows the merged result)\n`);
  if (written.length > 0) out.write('next: pgduck validate --connect, then pgduck run --once\n');
  return blocked.length > 0 ? KIND_OUTCOMES.config.exitCode : 0;
}

async function inspectAndWrite(client: PgClient, opts: InitOptions): Promise<InitResult> {
  const role = (await inspectRole(client)).role;
  const relations = (await listRelations(client, opts.schemas)).filter((r) => tableSelected(opts.tables, r.schema, r.table));
  const proposals: { proposal: Proposal; warnings: LiveIssue[] }[] = [];
  const skipped: Skip[] = [];
  for (const listed of relations) {
    const relation = await inspectSource(client, listed.schema, listed.table);
    if (!relation) continue; // dropped meanwhile
    const verdict = proposePipeline(relation, { cursor: opts.cursor, partitionOf: listed.partitionOf ?? undefined });
    if ('skip' in verdict) {
      skipped.push(verdict.skip);
      continue;
    }
    const p = verdict.proposal;
    const cursor = relation.columns.find((c) => c.name === p.cursor);
    const nulls = cursor && !cursor.notNull && relation.canSelect ? await cursorHasNulls(client, p.schema, p.table, p.cursor) : undefined;
    const judged = judgeProposal(p, { relation, role, ...(nulls !== undefined && { cursorHasNulls: nulls }) });
    if ('skip' in judged) skipped.push(judged.skip);
    else proposals.push({ proposal: p, warnings: judged.warnings });
  }

  // A table a pipeline file here already reads keeps that file (found by review: init run again with
  // another schema wrote a second file, and a second DuckDB table, for a table already synced, or
  // called a file reading another schema's table of the same name "kept", and never synced this one).
  const existing = existingPipelines(opts.out);
  const readBy = (p: Proposal) => existing.bySource.get(sourceKey(p.schema, p.table));
  // A file whose source cannot be told may read any of them: no new file is written until it can be.
  const unsure = existing.unknown.length > 0;
  const fresh = unsure ? [] : proposals.filter((x) => readBy(x.proposal) === undefined);
  const freshNames = assignNames(
    fresh.map((x) => x.proposal),
    existing.taken,
  );
  const schemaPath = schemaPathFrom(opts.out);
  const shared = sharedDefaultsIn(opts.out);
  const sharedExclude = shared ? sharedExcludeOf(shared) : [];
  const result: InitResult = { written: [], kept: [], skipped, blocked: [] };
  if (proposals.length > 0) mkdirSync(opts.out, { recursive: true });
  for (const { proposal, warnings } of proposals) {
    const current = readBy(proposal);
    if (current && !opts.force) {
      result.kept.push({ file: current, proposal });
      continue;
    }
    if (!current && unsure) {
      result.blocked.push(proposal);
      continue;
    }
    // --force rewrites the file that reads the table, under its name; a new table gets a name no file here has.
    const name = current ? basename(current, extname(current)) : freshNames[fresh.findIndex((x) => x.proposal === proposal)];
    const file = current ?? join(opts.out, `${name}.yml`);
    // A file's own exclude list replaces the shared one (lists are never concatenated): repeat the shared names, or they would be synced.
    const toWrite = proposal.exclude ? { ...proposal, exclude: [...new Set([...sharedExclude, ...proposal.exclude])] } : proposal;
    writeFileSync(file, renderPipelineFile(toWrite, { name, schemaPath, ...(shared && { sharedDefaults: basename(shared) }) }), {
      flag: current ? 'w' : 'wx',
    });
    result.written.push({ file, proposal, warnings });
  }
  result.unreadable = existing.unknown;
  return result;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/** The `source.columns.exclude` names a shared-defaults file writes (none when it cannot be read). */
function sharedExcludeOf(file: string): string[] {
  const { data } = loadDefaultsFile(file, process.env);
  const source = data?.source as { columns?: { exclude?: unknown } } | undefined;
  const list = source?.columns?.exclude;
  return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : [];
}

const sourceKey = (schema: string, table: string) => JSON.stringify([schema, table]);

/**
 * The pipeline files already in the directory init writes to: which file reads each source table
 * (a file with problems too, when its source.table resolves), the files whose source cannot be
 * told (with their first problem), and every name a new file must not take (each file's name,
 * whether it loads or not, and the DuckDB table each one writes, with its `_current` view).
 */
function existingPipelines(dir: string): { bySource: Map<string, string>; unknown: { file: string; problem: string }[]; taken: string[] } {
  const bySource = new Map<string, string>();
  const unknown: { file: string; problem: string }[] = [];
  if (!existsSync(dir)) return { bySource, unknown, taken: [] };
  const loaded = loadPipelines([dir], process.env);
  const taken = loaded.files.map((f) => basename(f, extname(f)));
  for (const id of loaded.identities) {
    if (id.source) bySource.set(sourceKey(id.source.schema, id.source.table), id.file);
    else {
      const mine = loaded.problems.filter((p) => p.file === id.file);
      const why = mine.find((p) => p.path.startsWith('source.table') || p.path.startsWith('source.schema')) ?? mine[0];
      unknown.push({ file: id.file, problem: why ? `${why.path ? `${why.path}: ` : ''}${why.message}` : 'source.table is not set' });
    }
    if (id.target) taken.push(id.target.table, `${id.target.table}_current`);
  }
  return { bySource, unknown, taken };
}

/** The shared-defaults file (`_defaults.yml`) of the directory init writes to, if there is one. */
function sharedDefaultsIn(dir: string): string | undefined {
  return DEFAULTS_FILE_NAMES.map((name) => join(dir, name)).find((f) => existsSync(f));
}
