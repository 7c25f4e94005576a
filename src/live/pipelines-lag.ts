/**
 * `pgduck status --connect`: each valid pipeline's lag (src/live/source-lag.ts), from its own
 * connection, one pipeline at a time. A pipeline that cannot be measured (no database, unreachable,
 * table gone) gets its reason instead; the others are still measured. Connection URLs are never
 * printed: errors come from connectPostgres, which redacts them.
 */
import type { PipelineSpec } from '../config/pipeline-spec.js';
import { resolvePipeline } from '../config/resolved-pipeline.js';
import { connectPostgres } from '../postgres/connect.js';
import { introspectTable } from '../postgres/introspect-table.js';
import type { Settings } from '../runner/settings.js';
import type { CheckpointStore } from '../state/checkpoint-store.js';
import { formatLag, sourceLag, type SourceLag } from './source-lag.js';

export type LagResult = SourceLag | { error: string };

/** The valid pipeline files as `status` read them, or why the directory could not be read. */
export type LoadedPipelines = { specs: PipelineSpec[] } | { error: string };

export async function lagOfPipelines(loaded: LoadedPipelines, settings: Settings, store: CheckpointStore): Promise<Map<string, LagResult>> {
  const out = new Map<string, LagResult>();
  if ('error' in loaded) {
    out.set('*', { error: `pipeline files could not be read: ${loaded.error}` });
    return out;
  }
  for (const spec of loaded.specs) {
    const pipeline = resolvePipeline(spec, settings);
    if (!pipeline.connection) {
      out.set(spec.name, { error: 'no database configured (DATABASE_URL or source.connection)' });
      continue;
    }
    let pg;
    try {
      pg = await connectPostgres(pipeline.connection, { label: `status:${spec.name}`, connectTimeoutMs: 10_000 });
    } catch (err) {
      out.set(spec.name, { error: (err as Error).message });
      continue;
    }
    try {
      await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const columns = await introspectTable(pg, spec.source.schema, spec.source.table);
      const find = (name: string) => columns?.find((c) => c.name === name);
      const cursor = find(spec.source.cursor);
      const keys = spec.source.primaryKey.map(find);
      if (!columns) out.set(spec.name, { error: `source table ${spec.source.schema}.${spec.source.table} does not exist (or this role cannot see it)` });
      else if (!cursor || keys.some((k) => !k)) out.set(spec.name, { error: 'the cursor or a key column is missing from the source table' });
      else out.set(spec.name, await sourceLag(pg, spec, cursor, keys as NonNullable<(typeof keys)[number]>[], store.get(spec.name)?.position ?? null));
    } catch (err) {
      out.set(spec.name, { error: (err as Error).message });
    } finally {
      await pg.query('ROLLBACK').catch(() => {});
      await pg.end().catch(() => {});
    }
  }
  return out;
}

export function renderLag(lag: Map<string, LagResult>): string {
  if (lag.size === 0) return '\nlag: no valid pipeline file to measure\n';
  const width = Math.max(...[...lag.keys()].map((n) => n.length));
  const lines = [...lag].map(([name, r]) => `  ${name.padEnd(width)}  ${'error' in r ? `not measured: ${r.error}` : formatLag(r)}`);
  return `\nlag (the source now against each checkpoint, --connect):\n${lines.join('\n')}\n`;
}
