/**
 * `pgduck plan [name] [--json] [--connect]`: the compiled plan of each pipeline, as data: its stages
 * with the SQL they run, the next three fire times of its schedule. No database is needed; with
 * `--connect` the live table adds a row estimate and the real column mapping (column → Postgres
 * type → DuckDB type, notes), and the SQL becomes exact (every column, real casts).
 *
 * Exit codes: 0 printed; 2 an unknown pipeline; 3 invalid configuration, or no database configured
 * for --connect; 1 the live table could not be read or cannot be synced as it is (run validate --connect).
 */
import { resolvePipeline, type ResolvedPipeline } from '../config/resolved-pipeline.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { formatProblems } from '../config/format-problems.js';
import { loadPipelines } from '../config/load-pipelines.js';
import { selectPipelines } from '../config/select-pipelines.js';
import { compilePipeline, type Plan, type SourceShape } from '../runner/compile.js';
import type { Settings } from '../runner/settings.js';
import { formatTypeTable } from '../schema/column-mapping-report.js';
import { horizonType } from '../stages/extract.js';
import { describeKeep, keepSpelling } from '../history/keep-policy.js';

export interface PlanOptions {
  json: boolean;
  /** Read the live tables (DATABASE_URL or each pipeline's source.connection). */
  connect?: boolean;
}

/** One source column as the plan shows it: where it comes from and what it becomes. */
export interface PlannedColumn {
  name: string;
  /** Declared Postgres type, e.g. `numeric(12,2)`, `text[]`, `my_domain`. */
  postgres: string;
  /** DuckDB column type; null when the column is refused. */
  duckdb: string | null;
  /** How it travels in Parquet (`int64`, `utf8`…); null when refused. */
  transport: string | null;
  note: string | null;
  /** Why the column cannot be synced (then the pipeline cannot run). */
  refused: string | null;
}

/** What `--connect` adds to a plan. */
export interface LivePlan {
  /** Redacted. */
  connection: string;
  /** pg_class.reltuples (an estimate, as of the last ANALYZE); null when never analyzed, or for a view. */
  rowEstimate: number | null;
  kind: string | null;
  columns: PlannedColumn[];
  /** Why the live table cannot be planned exactly (missing, unreadable, a refused column…); null when it can. */
  error: string | null;
}

export type PlanWithLive = Plan & { live?: LivePlan };

/** The plan as `plan --json` prints it: everything compile() made but the spec it was made from (it holds the connection string). */
export function printedPlan(p: PlanWithLive): Omit<PlanWithLive, 'spec' | 'connection'> {
  const { spec: _spec, connection: _connection, ...printed } = p;
  return printed;
}

export async function planCommand(settings: Settings, name: string | undefined, opts: PlanOptions): Promise<number> {
  if (name !== undefined) {
    // One pipeline: only its own file must be valid (a broken file elsewhere blocks only itself).
    const named = selectPipelines(settings, [name], process.stderr);
    if ('refused' in named) return KIND_OUTCOMES[named.refused].exitCode;
    return planSelected(named, opts, true);
  }
  const { specs, problems } = loadPipelines([settings.pipelinesDir], process.env, settings.duckdbPath);
  if (problems.length > 0) {
    process.stderr.write(`${formatProblems(problems)}pipeline configuration is invalid: nothing to plan (pgduck validate prints the same)\n`);
    return KIND_OUTCOMES.config.exitCode;
  }
  // A plan of everything includes disabled pipelines (marked): it is what the files say, not what runs now.
  const selected = specs;
  if (selected.length === 0) {
    process.stderr.write(`no pipelines in ${settings.pipelinesDir}\n`);
    return KIND_OUTCOMES.config.exitCode;
  }

  return planSelected(
    selected.map((s) => resolvePipeline(s, settings)),
    opts,
    false,
  );
}

/** `one`: a named pipeline (--json prints its plan, not a list). */
async function planSelected(pipelines: ResolvedPipeline[], opts: PlanOptions, one: boolean): Promise<number> {
  let code = 0;
  let plans: PlanWithLive[];
  if (opts.connect) {
    const { withoutConnection } = await import('../live/inspect-pipelines.js');
    const orphans = withoutConnection(pipelines);
    if (orphans.length > 0) {
      process.stderr.write(
        `no database configured for ${orphans.map((s) => s.name).join(', ')}: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB), ` +
          'pass --database-url, or give the pipeline a source.connection\n',
      );
      return KIND_OUTCOMES.config.exitCode;
    }
    plans = await livePlans(pipelines);
    if (plans.some((p) => p.live?.error)) code = 1;
  } else {
    plans = pipelines.map((p) => compilePipeline(p));
  }

  if (opts.json) {
    process.stdout.write(`${JSON.stringify(one ? printedPlan(plans[0]) : plans.map(printedPlan), null, 2)}\n`);
  } else {
    process.stdout.write(plans.map(formatPlan).join('\n'));
    // One mapping for every pipeline (src/schema/type-map.ts): each source column arrives exactly or is refused.
    if (!opts.connect) process.stdout.write(`\ntype mapping (Postgres → DuckDB)\n${formatTypeTable().join('\n')}\n`);
  }
  return code;
}

async function livePlans(resolved: ResolvedPipeline[]): Promise<PlanWithLive[]> {
  const { inspectPipelines } = await import('../live/inspect-pipelines.js');
  const { isRefused, mapColumn } = await import('../schema/type-map.js');
  const { missingIncluded, selectColumns } = await import('../schema/column-selection.js');
  const { pipelines } = await inspectPipelines(resolved, {});
  return pipelines.map(({ spec, connection, source, error }, i) => {
    const live: LivePlan = { connection: connection.url, rowEstimate: null, kind: null, columns: [], error: connection.error ?? error ?? null };
    let shape: SourceShape | undefined;
    const relation = source?.relation;
    if (source && !relation) {
      live.error = `table ${spec.source.schema}.${spec.source.table} does not exist, or role ${source.role} cannot see it`;
    } else if (relation) {
      live.kind = relation.kind;
      live.rowEstimate = relation.rowEstimate;
      // Only the columns source.columns selects are read: an excluded column's type does not matter.
      const mapped = selectColumns(spec.source, relation.columns).map((col) => ({ col, m: mapColumn(col) }));
      live.columns = mapped.map(({ col, m }) =>
        isRefused(m)
          ? { name: col.name, postgres: col.declaredType, duckdb: null, transport: null, note: null, refused: m.reason }
          : { name: col.name, postgres: col.declaredType, duckdb: m.duckType, transport: m.transport, note: m.note ?? null, refused: null },
      );
      const byName = new Map(relation.columns.map((c) => [c.name, c]));
      const cursor = byName.get(spec.source.cursor);
      const keys = spec.source.primaryKey.map((k) => byName.get(k));
      const refused = live.columns.filter((c) => c.refused);
      const absent = [...new Set([spec.source.cursor, ...spec.source.primaryKey, ...missingIncluded(spec.source, relation.columns)])].filter(
        (n) => !byName.has(n),
      );
      if (refused.length > 0) live.error = `cannot sync ${refused.map((c) => `column ${c.name} (${c.postgres}): ${c.refused}`).join('; ')}`;
      else if (absent.length > 0) live.error = `no column ${absent.join(', ')} in ${spec.source.schema}.${spec.source.table}`;
      else if (!relation.canSelect) live.error = `role ${source!.role} may not read ${spec.source.schema}.${spec.source.table}`;
      if (refused.length === 0 && cursor && keys.every((k) => k !== undefined)) {
        shape = {
          columns: mapped.map(({ m }) => m).filter((m) => !isRefused(m)) as SourceShape['columns'],
          cursorType: cursor.declaredType,
          keyTypes: keys.map((k) => k!.declaredType),
          // The extract stage's own test (extract.ts): the horizon applies to timestamp cursors.
          horizon: horizonType(cursor),
        };
      }
    }
    return { ...compilePipeline(resolved[i], { source: shape }), live };
  });
}

/** The plan as `plan` prints it (text). */
export function formatPlan(p: PlanWithLive): string {
  const indent = (text: string, pad: string) =>
    text
      .split('\n')
      .map((l) => `${pad}${l}`)
      .join('\n');
  const lines = [
    `pipeline ${p.pipeline}  (${p.file})${p.enabled ? '' : '  [disabled: validated, never run]'}`,
    `  source     ${p.source.table}  key (${p.source.primaryKey.join(', ')})  cursor ${p.source.cursor}${p.source.softDelete ? `  tombstone ${p.source.softDelete}` : ''}`,
    `  target     ${p.target.duckdbPath} :: ${p.target.table}${p.target.currentView ? `  (+ view ${p.target.currentView})` : ''}`,
    `  schedule   ${p.schedule.cron} (${p.schedule.timezone}); next: ${p.schedule.next.join(', ')}`,
    ...(p.reconcile ? [`  reconcile  ${p.reconcile.cron} (${p.reconcile.timezone}); next: ${p.reconcile.next.join(', ')}`] : []),
    `  batches    ${p.batchSize} rows; schema_evolution ${p.schemaEvolution}`,
  ];
  // Only when written (here or in the defaults): without it, history prune keeps everything.
  if (p.spec.history) lines.push(`  history    keep ${keepSpelling(p.spec.history.keep)}: pgduck history prune keeps ${describeKeep(p.spec.history.keep)}`);
  const selection = p.source.columns;
  if (selection) {
    lines.push(
      'include' in selection
        ? `  columns    only ${selection.include.join(', ')} (source.columns.include; a column added later is not synced)`
        : `  columns    every column but ${selection.exclude.join(', ')} (source.columns.exclude: never read from Postgres)`,
    );
  }
  if (p.defaults) {
    const fields = p.defaults.fields.length > 0 ? p.defaults.fields.join(', ') : 'nothing inherited: this file overrides every field';
    lines.push(`  defaults   ${p.defaults.file} (${fields})`);
  }
  if (p.live) {
    const { live } = p;
    const estimate =
      live.rowEstimate === null ? 'row estimate unknown (never analyzed, or a view)' : `~${live.rowEstimate.toLocaleString('en-US')} rows (estimate)`;
    lines.push(`  live       ${live.connection}${live.kind ? `: ${live.kind}, ${estimate}` : ''}`);
    if (live.error) lines.push(`  ✗ ${live.error}`);
    if (live.columns.length > 0) {
      const w1 = Math.max(...live.columns.map((c) => c.name.length));
      const w2 = Math.max(...live.columns.map((c) => c.postgres.length));
      const w3 = Math.max(...live.columns.map((c) => (c.duckdb ?? 'REFUSED').length));
      lines.push('  columns    name → Postgres type → DuckDB type  (notes)');
      for (const c of live.columns) {
        const note = c.refused ? `refused: ${c.refused}` : (c.note ?? '');
        lines.push(`    ${c.name.padEnd(w1)}  ${c.postgres.padEnd(w2)}  → ${(c.duckdb ?? 'REFUSED').padEnd(w3)}${note ? `  ${note}` : ''}`.trimEnd());
      }
    }
  }
  lines.push(`  stages${p.columns === 'assumed' ? `  (SQL shows the columns the file names; pgduck plan --connect shows every column)` : ''}`);
  p.steps.forEach((s, i) => {
    const { stage, sql, ...rest } = s;
    const detail = Object.entries(rest)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('; ');
    lines.push(`    ${i + 1}. ${stage.padEnd(12)} ${detail}`);
    if (typeof sql === 'string') lines.push(indent(sql, '         '));
    else if (sql) for (const [label, text] of Object.entries(sql)) lines.push(`       ${label}:`, indent(text, '         '));
  });
  return `${lines.join('\n')}\n`;
}
