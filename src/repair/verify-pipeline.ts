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
import { withDuckDbFile } from '../duckdb/lake.js';
import { describeTarget } from '../duckdb/target-table.js';
import { DuckDbRangeDigest } from '../duckdb/range-digest.js';
import { buildVerifyShape } from '../verify/verify-shape.js';
import { verifyTable, type TableVerdict, type VerifyOptions } from '../verify/verify-table.js';
import type { UncomparedColumn } from '../verify/canonical-value.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import type { RepairOutcome } from './repair-rows.js';

export interface PipelineVerification {
  pipeline: string;
  source: string;
  target: string;
  equal: boolean;
  /** Why the tables could not be compared (then `verdict` is absent). */
  error?: string;
  verdict?: TableVerdict;
  compared: string[];
  uncompared: UncomparedColumn[];
  durationMs: number;
  /** `--repair`: what each round did (absent without --repair or when nothing differed). */
  repairs?: RepairOutcome[];
}

export async function verifyPipeline(
  pipeline: ResolvedPipeline,
  options: Partial<VerifyOptions> = {},
  opts: { keysOnly?: boolean } = {},
): Promise<PipelineVerification> {
  const started = Date.now();
  const { spec, duckdbPath } = pipeline;
  const result: PipelineVerification = {
    pipeline: spec.name,
    source: `${spec.source.schema}.${spec.source.table}`,
    target: `${duckdbPath}:${spec.target.table}`,
    equal: false,
    compared: [],
    uncompared: [],
    durationMs: 0,
  };
  const fail = (error: string) => {
    result.error = error;
    result.durationMs = Date.now() - started;
    return result;
  };
  if (!existsSync(duckdbPath)) return fail(`DuckDB file ${duckdbPath} does not exist (has the pipeline run?)`);
  const url = pipeline.connection;
  if (!url) return fail('no database configured');
  let pg;
  try {
    pg = await connectPostgres(url, { label: `verify:${spec.name}` });
  } catch (err) {
    return fail((err as Error).message);
  }
  try {
    // One snapshot for every range query of this table.
    await pg.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const source = await introspectTable(pg, spec.source.schema, spec.source.table);
    if (!source) return fail(`source table ${result.source} does not exist (or this role cannot see it)`);
    return await withDuckDbFile(
      duckdbPath,
      async (session) => {
        await session.run("SET TimeZone = 'UTC'");
        const target = await describeTarget(session, spec.target.table);
        if (!target) return fail(`target table ${spec.target.table} does not exist in ${duckdbPath}`);
        const full = buildVerifyShape(spec, source, target);
        const shape = opts.keysOnly ? { ...full, columns: full.columns.filter((c) => spec.source.primaryKey.includes(c.name)), uncompared: [] } : full;
        result.compared = shape.columns.map((c) => c.name);
        result.uncompared = shape.uncompared;
        result.verdict = await verifyTable(shape, new PostgresRangeDigest(pg, shape), new DuckDbRangeDigest(session, shape), options);
        result.equal = result.verdict.equal;
        result.durationMs = Date.now() - started;
        return result;
      },
      { readOnly: true },
    );
  } catch (err) {
    return fail((err as Error).message);
  } finally {
    await pg.query('ROLLBACK').catch(() => {});
    await pg.end().catch(() => {});
  }
}
