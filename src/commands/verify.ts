/**
 * `pgduck verify [name…] [--json]`: compare each pipeline's source table with its DuckDB table, for
 * real: row counts and a hash of every row's canonical value per key range, narrowed down to the
 * differing keys (src/verify/verify-table.ts). Soft-deleted rows are compared as the pipeline keeps
 * them (soft_delete_mode); hard deletes in the source show up as `extra`. `--repair` re-reads the
 * differing keys and writes or removes them (src/repair/repair-rows.ts), then verifies again.
 *
 * Exit codes: 0 every pipeline equal, 1 a difference (or a table that could not be compared),
 * 2 usage, 3 invalid configuration (src/errors/exit-codes.ts).
 */
import type { TableVerdict } from '../verify/verify-table.js';
import { verifyPipeline, type PipelineVerification } from '../repair/verify-pipeline.js';
import { selectLivePipelines } from '../config/select-pipelines.js';
import type { ResolvedPipeline } from '../config/resolved-pipeline.js';
import { KIND_OUTCOMES } from '../errors/exit-codes.js';
import { repairRows, type RepairOutcome } from '../repair/repair-rows.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';

/** Rounds of repair, then verify again: a round handles up to REPAIR_LIMIT keys. */
export const REPAIR_ROUNDS = 5;
const REPAIR_LIMIT = 10_000;

export type { PipelineVerification };

export function formatVerification(v: PipelineVerification): string {
  if (v.error) return `✗ ${v.pipeline}: cannot compare: ${v.error}\n`;
  const d = v.verdict as TableVerdict;
  const lines: string[] = [];
  if (d.equal) {
    lines.push(`✓ ${v.pipeline}: equal (${d.sourceRows} rows, ${v.compared.length} columns compared)`);
  } else {
    const total = d.missing + d.extra + d.changed + d.duplicate;
    lines.push(
      `✗ ${v.pipeline}: ${d.truncated ? 'at least ' : ''}${total} differing row${total === 1 ? '' : 's'} ` +
        `(source ${d.sourceRows} rows, target ${d.targetRows} rows: ${d.missing} missing, ${d.extra} extra, ${d.changed} changed${d.duplicate > 0 ? `, ${d.duplicate} duplicated` : ''})`,
    );
    for (const diff of d.differences) {
      const key = Object.entries(diff.key)
        .map(([k, val]) => `${k}=${val}`)
        .join(', ');
      const why =
        diff.kind === 'missing'
          ? 'in the source, not in the target'
          : diff.kind === 'extra'
            ? 'in the target only (hard-deleted in the source?)'
            : diff.kind === 'duplicate'
              ? 'held more than once in the target, which has no PRIMARY KEY (target.key_index: false)'
              : `columns differ: ${(diff.columns ?? []).join(', ') || '?'}`;
      lines.push(`    ${diff.kind.padEnd(8)} ${key}  (${why})`);
    }
    const listed = d.differences.length;
    if (listed < total) lines.push(`    … ${d.truncated ? 'and more' : `${total - listed} more`} (raise --limit to list more)`);
    if (!v.repairs)
      lines.push(
        `    pgduck verify --repair ${v.pipeline} would read these keys again from Postgres, write the rows it finds and ${v.hardDeleteMode === 'mark' ? 'mark (_pgduck_deleted_at)' : 'remove'} the keys it does not (checkpoint untouched)`,
      );
  }
  for (const [i, r] of (v.repairs ?? []).entries()) {
    lines.push(
      `    repair round ${i + 1}: ${r.keys} key${r.keys === 1 ? '' : 's'} read again: ${r.written} written, ${r.marked > 0 ? `${r.marked} marked, ` : ''}${r.removed} removed` +
        (r.parquetPath ? ` (history file ${r.parquetPath})` : ''),
    );
  }
  for (const u of v.uncompared) lines.push(`    not compared: ${u.name}: ${u.reason}`);
  return `${lines.join('\n')}\n`;
}

/** verify, then (with --repair) repair the differing keys and verify again, until equal or REPAIR_ROUNDS rounds. */
async function verifyAndRepair(pipeline: ResolvedPipeline, settings: Settings, opts: { limit?: number; repair?: boolean }): Promise<PipelineVerification> {
  const limit = opts.limit !== undefined ? { limit: opts.limit } : {};
  let v = await verifyPipeline(pipeline, opts.repair ? { limit: Math.max(opts.limit ?? 0, REPAIR_LIMIT) } : limit);
  if (!opts.repair || v.equal || v.error || !v.verdict) return v;
  const repairs: RepairOutcome[] = [];
  const store = new CheckpointStore(checkpointDbPath(settings));
  try {
    for (let round = 0; round < REPAIR_ROUNDS && v.verdict && !v.equal; round++) {
      try {
        repairs.push(
          await repairRows(
            pipeline,
            v.verdict.differences.map((d) => d.tuple),
            { store, parquetDir: settings.parquetDir },
          ),
        );
      } catch (err) {
        v.error = `repair failed, the DuckDB table is as verify found it: ${(err as Error).message}`;
        v.repairs = repairs;
        return v;
      }
      v = await verifyPipeline(pipeline, { limit: Math.max(opts.limit ?? 0, REPAIR_LIMIT) });
    }
  } finally {
    store.close();
  }
  v.repairs = repairs;
  return v;
}

export async function verifyCommand(settings: Settings, names: string[], opts: { json: boolean; limit?: number; repair?: boolean }): Promise<number> {
  const pipelines = selectLivePipelines(settings, names, process.stderr);
  if ('refused' in pipelines) return KIND_OUTCOMES[pipelines.refused].exitCode;
  const results: PipelineVerification[] = [];
  for (const pipeline of pipelines) {
    const v = await verifyAndRepair(pipeline, settings, opts);
    results.push(v);
    if (!opts.json) process.stdout.write(formatVerification(v));
  }
  const equal = results.every((r) => r.equal);
  if (opts.json) process.stdout.write(`${JSON.stringify({ equal, pipelines: results }, null, 2)}\n`);
  return equal ? 0 : 1;
}
