/**
 * Progress bars at the bottom of a terminal (one line per bootstrap or backfill running), with the log
 * lines scrolling above them. A minimal renderer rather than a library, because the one thing that
 * matters is the one thing libraries leave to the caller: a log line must never be cut by a bar.
 * So every byte pgduck writes to stderr while bars are shown goes through here: the logger's sink
 * (`log`) erases the bars, writes the line, and draws the bars again, in one write. Bars are
 * redrawn at most every REDRAW_MS, never wider than the terminal (a wrapped line would break the
 * erase), and erased for good by close(). Only used when progressWanted() said so.
 */
import { formatProgressLine, type ProgressLine } from './progress-format.js';

export interface ProgressOutput {
  write(text: string): unknown;
  columns?: number;
}

const REDRAW_MS = 200;
/** ESC [ n F: cursor to the start of the line n lines up; ESC [ J: erase from the cursor to the end of the screen. */
const up = (n: number) => (n > 0 ? `\x1b[${n}F\x1b[J` : '');

interface Bar {
  done: number;
  estimate: number | null;
  /** Rows and time at the start of this run: the rate is this run's. */
  startDone: number;
  startMs: number;
}

export class TerminalProgress {
  private readonly bars = new Map<string, Bar>();
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly now: () => number = Date.now,
  ) {}

  /** The logger's sink: a log line (ending in a newline) above the bars. */
  log(text: string): void {
    if (this.drawn === 0) {
      this.out.write(text);
      return;
    }
    this.out.write(up(this.drawn) + text + this.render());
  }

  /** A pipeline starts (or resumes) a pass over its whole table. */
  begin(pipeline: string, p: { done: number; estimate: number | null }): void {
    if (this.closed) return;
    this.bars.set(pipeline, { done: p.done, estimate: p.estimate, startDone: p.done, startMs: this.now() });
    this.redraw(); // at once: a person sees the bar start, whatever follows
  }

  advance(pipeline: string, rows: number): void {
    const bar = this.bars.get(pipeline);
    if (!bar) return;
    bar.done += rows;
    this.schedule();
  }

  /** Its run ended (drained, failed or stopped): its bar goes. */
  end(pipeline: string): void {
    if (!this.bars.delete(pipeline)) return;
    this.redraw();
  }

  /** Erase every bar; later calls draw nothing. */
  close(): void {
    this.closed = true;
    this.bars.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.redraw();
  }

  /** The lines as they would be drawn now (for tests, and for the redraw). */
  lines(): string[] {
    // A pseudo-terminal may report 0 columns: assume 80.
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const nameWidth = Math.max(0, ...[...this.bars.keys()].map((k) => k.length));
    const at = this.now();
    return [...this.bars.entries()].map(([pipeline, b]) => {
      const seconds = (at - b.startMs) / 1000;
      const rowsPerSecond = b.done > b.startDone && seconds > 0 ? (b.done - b.startDone) / seconds : null;
      const line: ProgressLine = { pipeline, done: b.done, estimate: b.estimate, rowsPerSecond };
      return formatProgressLine(line, { width, nameWidth });
    });
  }

  private render(): string {
    const lines = this.lines();
    this.drawn = lines.length;
    return lines.map((l) => `${l}\n`).join('');
  }

  private redraw(): void {
    if (this.drawn === 0 && this.bars.size === 0) return;
    this.out.write(up(this.drawn) + this.render());
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.redraw();
    }, REDRAW_MS);
    this.timer.unref();
  }
}
