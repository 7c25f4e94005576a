/**
 * `history.keep` of a pipeline file: how much Parquet history `pgduck history prune` keeps
 * (README "History retention"). Three spellings, one meaning each:
 *
 *   keep: all     everything (the default: a file is deleted only when someone asks for it)
 *   keep: 2       the 2 newest complete passes over the source, and every file after the older one
 *   keep: 30d     every file written in the last 30 days, and the complete pass the oldest of them builds on
 *
 * A pass is the unit `pgduck replay` rebuilds from (src/replay/complete-passes.ts), so whatever the
 * spelling, what is kept always holds the newest complete pass and every file after it.
 */
export type KeepPolicy = { kind: 'all' } | { kind: 'passes'; passes: number } | { kind: 'days'; days: number };

export const KEEP_ALL: KeepPolicy = { kind: 'all' };

/** Largest number of passes or days accepted (also the JSON Schema's bounds). */
export const KEEP_MAX = 100_000;

/** The value as written (`all`, an integer, `<n>d`) → the policy; null when it is none of them. */
export function parseKeep(value: unknown): KeepPolicy | null {
  if (value === 'all') return KEEP_ALL;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= KEEP_MAX ? { kind: 'passes', passes: value } : null;
  if (typeof value !== 'string') return null;
  const days = /^([1-9][0-9]*)d$/.exec(value);
  if (days && Number(days[1]) <= KEEP_MAX) return { kind: 'days', days: Number(days[1]) };
  // On the command line every value is a string: `--keep 2`.
  if (/^[1-9][0-9]*$/.test(value) && Number(value) <= KEEP_MAX) return { kind: 'passes', passes: Number(value) };
  return null;
}

/** `everything`, `the 2 newest complete passes`, `the files of the last 30 days`. */
export function describeKeep(keep: KeepPolicy): string {
  if (keep.kind === 'all') return 'everything';
  if (keep.kind === 'passes') return `the ${keep.passes === 1 ? 'newest complete pass' : `${keep.passes} newest complete passes`}`;
  return `the files of the last ${keep.days === 1 ? 'day' : `${keep.days} days`}`;
}

/** As written in a pipeline file: `all`, `2`, `30d`. */
export function keepSpelling(keep: KeepPolicy): string | number {
  return keep.kind === 'all' ? 'all' : keep.kind === 'passes' ? keep.passes : `${keep.days}d`;
}
