/**
 * One pipeline's comparison, as `verify` and `reconcile` run it: both tables described, the verify
 * shape built (src/verify/verify-shape.ts), and src/verify/verify-table.ts run over a Postgres
 * REPEATABLE READ snapshot and a read-only DuckDB session. `keysOnly` compares the key sets alone
 * (reconcile: only rows gone from the source matter, and hashing keys reads far less).
 */
import { existsSync } from 'node:fs';
import { connectPostgres } from '../postgres/connect.js';
import { introspectTable } from '../postgres/introspect-table.js';
import { PostgresRangeDigest } from '../postgres/range-digest.js';
import { withDuckDbFile, type OpenDuckDb } from '../duckdb/lake.js';
import { describeTarget, targetLabel } from '../duckdb/target-table.js';
import { DuckDbRangeDigest } from '../duckdb/range-digest.js';
import { buildVerifyShape } from '../verify/verify-shape.js';
import { verifyTable, type TableVerdict, type VerifyOptions } from '../verify/verify-table.js';
import type { UncomparedColumn } from '../verify/canonical-value.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import type { RepairOutcome } from './repair-rows.js';
import { PgduckError, type ErrorKind } from '../errors/pgduck-error.js';
import { classifyFailure } from '../runner/classify-failure.js';

export interface PipelineVerification {
  pipeline: string;
  source: string;
  target: string;
  equal: boolean;
  /** Why the tables could not be compared (then `verdict` is absent). */
  error?: string;
  /** With `error`: its kind and code (src/errors/pgduck-error.ts). */
  failure?: { kind: ErrorKind; code: string };
  verdict?: TableVerdict;
  compared: string[];
  uncompared: UncomparedColumn[];
  durationMs: number;
  /** What `--repair` does with a key the source no longer has: remove it, or mark it (source.hard_delete_mode). */
  hardDeleteMode: 'remove' | 'mark';
  /** `--repair`: what each round did (absent without --repair or when nothing differed). */
  repairs?: RepairOutcome[];
}

export async function verifyPipeline(
  pipeline: ResolvedPipeline,
  options: Partial<VerifyOptions> = {},
  opts: {
    keysOnly?: boolean;
    /** Asked between key ranges: true stops the comparison (the verdict says `stopped`). */
    shouldStop?: () => boolean;
    /** How to open the DuckDB file (default: an instance of its own, read-only; the service passes its Lake's). */
    openDuckDb?: OpenDuckDb;
  } = {},
): Promise<PipelineVerification> {
  const started = Date.now();
  const { spec, duckdbPath } = pipeline;
  const result: PipelineVerification = {
    pipeline: spec.name,
    source: `${spec.source.schema}.${spec.source.table}`,
    target: `${duckdbPath}:${targetLabel(spec.target)}`,
    equal: false,
    hardDeleteMode: spec.source.hardDeleteMode,
    compared: [],
    uncompared: [],
    durationMs: 0,
  };
  const fail = (error: string, failure: PgduckError | { kind: ErrorKind; code: string }) => {
    result.error = error;
    result.failure = { kind: failure.kind, code: failure.code };
    result.durationMs = Date.now() - started;
    return result;
  };
  // The message as the error said it (what verify has always printed); the kind and code as classified.
  const failed = (err: unknown) => fail((err as Error).message, classifyFailure(err));
  const openDuckDb: OpenDuckDb = opts.openDuckDb ?? withDuckDbFile;
  if (!existsSync(duckdbPath)) return fail(`DuckDB file ${duckdbPath} does not exist (has the pipeline run?)`, { kind: 'needs-action', code: 'DUCKDB_IO' });
  const url = pipeline.connection;
  if (!url) return fail('no database configured', { kind: 'config', code: 'CONFIG_INVALID' });
  let pg;
  try {
    pg = await connectPostgres(url, { label: `verify:${spec.name}` });
  } catch (err) {
    return failed(err);
  }
  try {
    // One snapshot for every range query of this table.
    await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const source = await introspectTable(pg, spec.source.schema, spec.source.table);
    if (!source)
      return fail(`source table ${result.source} does not exist (or this role cannot see it)`, { kind: 'needs-action', code: 'SOURCE_TABLE_MISSING' });
    return await openDuckDb(
      duckdbPath,
      async (session) => {
        await session.run("SET TimeZone = 'UTC'");
        const target = await describeTarget(session, spec.target);
        if (!target)
          return fail(`target table ${targetLabel(spec.target)} does not exist in ${duckdbPath}`, { kind: 'needs-action', code: 'DRIFT_INCOMPATIBLE' });
        const encoding = String((await pg.query<{ e: string }>('SELECT current_setting($1) AS e', ['server_encoding'])).rows[0].e);
        const full = { ...buildVerifyShape(spec, source, target), sourceNotUtf8: encoding !== 'UTF8' && encoding !== 'SQL_ASCII' };
        const shape = opts.keysOnly ? { ...full, columns: full.columns.filter((c) => spec.source.primaryKey.includes(c.name)), uncompared: [] } : full;
        result.compared = shape.columns.map((c) => c.name);
        result.uncompared = shape.uncompared;
        result.verdict = await verifyTable(shape, new PostgresRangeDigest(pg, shape), new DuckDbRangeDigest(session, shape), options, opts.shouldStop);
        result.equal = result.verdict.equal;
        result.durationMs = Date.now() - started;
        return result;
      },
      { readOnly: true },
    );
  } catch (err) {
    return failed(err);
  } finally {
    await pg.query('ROLLBACK').catch(() => {});
    await pg.end().catch(() => {});
  }
}
