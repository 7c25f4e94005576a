/**
 * What the progress line of a bootstrap or a backfill says, and whether there is one, as pure
 * functions (tested without a terminal). src/log/terminal-progress.ts draws the lines.
 *
 *   accounts  [██████████░░░░░░░░░░]  52%  520,000 of ~1,000,000 rows  41,200 rows/s  ETA 12 s
 *   events    130,000 rows  18,400 rows/s                 (no estimate: the table was never analyzed)
 *
 * The total is pg_class.reltuples, an estimate as of the last ANALYZE (hence the `~`): a table that
 * grew since can pass it; the line then shows the rows done with no percentage and no ETA rather than
 * a bar stuck at 100%.
 */

export interface ProgressLine {
  pipeline: string;
  /** Rows done, the resumed part of an interrupted bootstrap included. */
  done: number;
  /** pg_class.reltuples; null when unknown. */
  estimate: number | null;
  /** Rows per second over this run so far; null before the first batch. */
  rowsPerSecond: number | null;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** 12 s, 4 min 05 s, 2 h 10 min. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** One line, at most `width` characters (a line that wraps would break the redraw). */
export function formatProgressLine(p: ProgressLine, opts: { width: number; nameWidth?: number; barWidth?: number }): string {
  const name = p.pipeline.padEnd(opts.nameWidth ?? p.pipeline.length);
  const rate = p.rowsPerSecond === null ? '' : `  ${count(p.rowsPerSecond)} rows/s`;
  let line: string;
  if (p.estimate !== null && p.estimate > 0 && p.done <= p.estimate) {
    const fraction = p.done / p.estimate;
    const cells = opts.barWidth ?? 20;
    const full = Math.min(cells, Math.floor(fraction * cells));
    const bar = `[${'█'.repeat(full)}${'░'.repeat(cells - full)}]`;
    const pct = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
    const eta = p.rowsPerSecond && p.rowsPerSecond > 0 ? `  ETA ${formatEta((p.estimate - p.done) / p.rowsPerSecond)}` : '';
    line = `${name}  ${bar} ${pct}  ${count(p.done)} of ~${count(p.estimate)} rows${rate}${eta}`;
  } else {
    line = `${name}  ${count(p.done)} rows${rate}`;
  }
  return line.length > opts.width ? `${line.slice(0, Math.max(0, opts.width - 1))}…` : line;
}

/**
 * Progress bars only where a person watches: stderr is a terminal that understands cursor movement
 * (not TERM=dumb), and `--no-progress` was not given. Never in a pipe, a file or a container's log.
 */
export function progressWanted(opts: { stderrIsTTY: boolean; flag: boolean; term: string | undefined }): boolean {
  return opts.flag && opts.stderrIsTTY && opts.term !== 'dumb';
}
