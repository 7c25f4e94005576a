/**
 * Issue 11's targets (2 cores, N = 1,000,000), judged on a bench result: one met / not met verdict
 * per target, per batch size where the target names batch sizes. Absolute targets are judged at N
 * (the size the issue states them for); "flat in table size" compares 3N with N. Pure.
 */
import type { BenchResult, ParquetColumn, TargetVerdict } from './bench-result.js';

export const TARGETS = {
  /** Bootstrap time ≤ this × the COPY + read_csv reference of the same round. */
  bootstrapRatio: 1.2,
  /** Peak RSS of the bootstrap process, MB. */
  peakRssMb: 250,
  /** Peak RSS at 3N ≤ this × at N. */
  rssGrowth: 1.1,
  /** One incremental cycle with 1,000 changed rows, in-process, ms. */
  incrementalMs: 100,
  /** The cycle at 3N ≤ this × at N. */
  incrementalGrowth: 1.3,
  /** `pgduck run --once` for that cycle, start to exit, ms. */
  cliMs: 700,
  /** Each of the seed's kind of query, warm, ms. */
  queryMs: 50,
} as const;

/** Source types whose exact form in Parquet is text: these may stay VARCHAR; every other column must be typed. */
const TEXT_SOURCE_TYPES = new Set(['text', 'character varying', 'json', 'jsonb']);

const fmt = (n: number, digits = 0) => n.toFixed(digits);
const batchLabel = (b: number | null) => `batch ${b === null ? '-' : b.toLocaleString('en')}`;

export function judgeTargets(result: Pick<BenchResult, 'scales' | 'parquetColumns'>): TargetVerdict[] {
  const [n, large] = result.scales;
  const verdicts: TargetVerdict[] = [];
  const add = (target: string, measured: string, met: boolean) => verdicts.push({ target, measured, met });
  if (!n) return verdicts;
  const atN = `at ${n.rows.toLocaleString('en')} rows`;

  for (const s of n.bootstrap) {
    const ratio = s.medianRatio ?? Number.POSITIVE_INFINITY;
    add(`bootstrap ≤ ${TARGETS.bootstrapRatio}× the reference, ${batchLabel(s.batchSize)}`, `${fmt(ratio, 2)}× ${atN}`, ratio <= TARGETS.bootstrapRatio);
  }
  for (const s of n.bootstrap) {
    add(`peak RSS ≤ ${TARGETS.peakRssMb} MB, ${batchLabel(s.batchSize)}`, `${fmt(s.medianRssMb)} MB ${atN}`, s.medianRssMb <= TARGETS.peakRssMb);
  }
  if (large) {
    for (const s of n.bootstrap) {
      const at3 = large.bootstrap.find((b) => b.batchSize === s.batchSize);
      if (!at3) continue;
      const growth = at3.medianRssMb / s.medianRssMb;
      add(
        `peak RSS at ${large.rows.toLocaleString('en')} rows within ${fmt((TARGETS.rssGrowth - 1) * 100)}% of ${n.rows.toLocaleString('en')}, ${batchLabel(s.batchSize)}`,
        `${fmt(at3.medianRssMb)} MB vs ${fmt(s.medianRssMb)} MB (${signedPercent(growth)})`,
        growth <= TARGETS.rssGrowth,
      );
    }
  }
  const inc = n.incremental;
  add(
    `incremental cycle (${inc.changedRows.toLocaleString('en')} rows) ≤ ${TARGETS.incrementalMs} ms in-process`,
    `${fmt(inc.medianInProcessMs)} ms ${atN}`,
    inc.medianInProcessMs <= TARGETS.incrementalMs,
  );
  if (large) {
    const growth = large.incremental.medianInProcessMs / inc.medianInProcessMs;
    add(
      `incremental cycle at ${large.rows.toLocaleString('en')} rows within ${fmt((TARGETS.incrementalGrowth - 1) * 100)}% of ${n.rows.toLocaleString('en')}`,
      `${fmt(large.incremental.medianInProcessMs)} ms vs ${fmt(inc.medianInProcessMs)} ms (${signedPercent(growth)})`,
      growth <= TARGETS.incrementalGrowth,
    );
  }
  add(`incremental cycle as a CLI process ≤ ${fmt(TARGETS.cliMs / 1000, 1)} s`, `${fmt(inc.medianCliMs / 1000, 2)} s ${atN}`, inc.medianCliMs <= TARGETS.cliMs);
  for (const q of n.queries) add(`query "${q.name}" ≤ ${TARGETS.queryMs} ms warm`, `${fmt(q.warmMs, 1)} ms ${atN}`, q.warmMs <= TARGETS.queryMs);
  if (result.parquetColumns.length > 0) {
    const untyped = untypedColumns(result.parquetColumns);
    const typed = result.parquetColumns.length - untyped.length;
    add(
      'Parquet batch files typed (text only where the source is text or json)',
      `${typed} of ${result.parquetColumns.length} columns typed${untyped.length > 0 ? `; as text: ${untyped.map((c) => `${c.column} (${c.sourceType})`).join(', ')}` : ''}`,
      untyped.length === 0,
    );
  }
  return verdicts;
}

/** Columns carried as text in Parquet although their source type has a typed form. */
export function untypedColumns(columns: ParquetColumn[]): ParquetColumn[] {
  return columns.filter((c) => c.parquetType === 'VARCHAR' && !TEXT_SOURCE_TYPES.has(c.sourceType));
}

function signedPercent(ratio: number): string {
  const p = (ratio - 1) * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(0)}%`;
}
