/**
 * Gathers the live facts `validate --connect` and `plan --connect` judge and print: one connection
 * per distinct Postgres URL (each pipeline's resolved connection), the role behind it,
 * and each pipeline's source relation. Read-only and catalog-only, except the NULL-cursor probe
 * (bounded by a timeout). A failure of one connection is recorded, never thrown, so the other
 * connections are still inspected.
 */
import { PgduckError } from '../errors/pgduck-error.js';
import type { PipelineSpec } from '../config/pipeline-spec.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { connectPostgres, type PgClient } from '../postgres/connect.js';
import { explainConnectError, scrubPassword } from '../postgres/explain-connect-error.js';
import { inspectRole, type RoleFacts } from '../postgres/inspect-role.js';
import { inspectServer, knowsTimeZone, type ServerFacts } from '../postgres/inspect-server.js';
import { cursorHasNulls, inspectSource, relationsIn } from '../postgres/inspect-source.js';
import { redactUrl } from '../sql/redact.js';
import type { SourceFacts } from './judge-source.js';

export interface ConnectionFacts {
  /** Redacted: safe to print. */
  url: string;
  /** Pipelines reading through this connection, in the order given. */
  pipelines: PipelineSpec[];
  role?: RoleFacts;
  /** Standby or primary, pending prepared transactions: what the commit-safe horizon depends on. */
  server?: ServerFacts;
  /** Why connecting (or a catalog query) failed, redacted. */
  error?: string;
}

export interface PipelineFacts {
  spec: PipelineSpec;
  connection: ConnectionFacts;
  /** Absent when the connection or a query failed. */
  source?: SourceFacts;
  /** A catalog query for this pipeline failed (redacted). */
  error?: string;
}

export interface InspectOptions {
  connectTimeoutMs?: number;
  /** Probe a nullable cursor for NULL rows (validate does; plan does not need to). */
  probeNullCursors?: boolean;
}

/** Pipelines whose connection is unknown: no source.connection and no DATABASE_URL. */
export function withoutConnection(pipelines: readonly ResolvedPipeline[]): PipelineSpec[] {
  return pipelines.filter((p) => !p.connection).map((p) => p.spec);
}

export async function inspectPipelines(
  pipelines: readonly ResolvedPipeline[],
  opts: InspectOptions,
): Promise<{ connections: ConnectionFacts[]; pipelines: PipelineFacts[] }> {
  const groups = new Map<string, PipelineSpec[]>();
  for (const { spec, connection: url } of pipelines) {
    if (!url)
      throw new PgduckError(`inspectPipelines: pipeline ${spec.name} has no connection (check withoutConnection first)`, {
        kind: 'internal',
        code: 'INTERNAL',
      });
    groups.set(url, [...(groups.get(url) ?? []), spec]);
  }
  const connections: ConnectionFacts[] = [];
  const byName = new Map<string, PipelineFacts>();
  // One connection at a time: a handful of catalog queries each, not worth a pool.
  for (const [url, group] of groups) {
    const connection: ConnectionFacts = { url: redactUrl(url), pipelines: group };
    connections.push(connection);
    let client: PgClient | undefined;
    try {
      client = await connectPostgres(url, { label: 'validate', connectTimeoutMs: opts.connectTimeoutMs ?? 10_000, statementTimeoutMs: 30_000 });
      connection.role = await inspectRole(client);
      connection.server = await inspectServer(client);
      for (const spec of group) {
        try {
          byName.set(spec.name, { spec, connection, source: await inspectOne(client, spec, connection.role.role, opts) });
        } catch (err) {
          byName.set(spec.name, { spec, connection, error: scrubPassword(`inspecting the source failed: ${(err as Error).message}`, url) });
        }
      }
    } catch (err) {
      connection.error = client ? scrubPassword(`query failed on ${redactUrl(url)}: ${(err as Error).message}`, url) : explainConnectError(err, url);
      for (const spec of group) if (!byName.has(spec.name)) byName.set(spec.name, { spec, connection });
    } finally {
      await client?.end().catch(() => {});
    }
  }
  return { connections, pipelines: pipelines.map((p) => byName.get(p.spec.name)!) };
}

async function inspectOne(client: PgClient, spec: PipelineSpec, role: string, opts: InspectOptions): Promise<SourceFacts> {
  const { schema, table, cursor } = spec.source;
  const relation = await inspectSource(client, schema, table);
  if (!relation) return { relation, role, siblings: await relationsIn(client, schema) };
  const cursorColumn = relation.columns.find((c) => c.name === cursor);
  let nulls: boolean | null | undefined;
  if (opts.probeNullCursors && cursorColumn && !cursorColumn.notNull && relation.canSelect) nulls = await cursorHasNulls(client, schema, table, cursor);
  const zone = spec.source.cursorTimezone;
  const zoneKnown =
    zone !== undefined && (cursorColumn?.typname === 'timestamp' || cursorColumn?.typname === 'date') ? await knowsTimeZone(client, zone) : undefined;
  return { relation, role, ...(nulls !== undefined && { cursorHasNulls: nulls }), ...(zoneKnown !== undefined && { cursorZoneKnown: zoneKnown }) };
}
