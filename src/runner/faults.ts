/**
 * Named crash points for tests (issue: crash safety). Enabled only by PGDUCK_FAULT, e.g.
 * `PGDUCK_FAULT=after-upsert` (first time reached) or `after-upsert:3` (third time); the process
 * then SIGKILLs itself, exactly like a power cut from the runner's point of view.
 */
export type FaultPoint =
  | 'before-extract'
  | 'after-extract'
  | 'after-parquet'
  | 'after-drift-check'
  | 'after-upsert'
  | 'after-checkpoint'
  /** A backfill batch is committed in DuckDB and recorded in the state store (src/stages/backfill.ts). */
  | 'after-backfill-batch';

export const FAULT_POINTS: FaultPoint[] = [
  'before-extract',
  'after-extract',
  'after-parquet',
  'after-drift-check',
  'after-upsert',
  'after-checkpoint',
  'after-backfill-batch',
];

const spec = process.env.PGDUCK_FAULT;
const [armedPoint, armedNth] = spec ? [spec.split(':')[0], Number(spec.split(':')[1] ?? 1)] : [null, 0];
let hits = 0;

export function faultPoint(point: FaultPoint): void {
  if (point !== armedPoint) return;
  hits++;
  if (hits === armedNth) {
    process.stderr.write(`PGDUCK_FAULT: killing at ${point} (hit ${hits})\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
