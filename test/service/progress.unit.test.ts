/**
 * Progress bars of a bootstrap (src/log/progress-format.ts, src/log/terminal-progress.ts), without a
 * terminal: what a line says, when bars are shown at all, and that log lines written while bars are
 * drawn reach the screen whole, above the bars, with nothing of a bar left once it ends
 * (test/support/screen.ts plays the terminal).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEta, formatProgressLine, progressWanted } from '../../src/log/progress-format.js';
import { TerminalProgress } from '../../src/log/terminal-progress.js';
import { screen } from '../support/screen.js';

test('a line: bar, percentage, rows of the estimate, rows/s and ETA; without an estimate, or past it, rows and rate only', () => {
  const wide = { width: 200, barWidth: 10 };
  assert.equal(
    formatProgressLine({ pipeline: 'accounts', done: 520_000, estimate: 1_000_000, rowsPerSecond: 40_000 }, wide),
    'accounts  [█████░░░░░]  52%  520,000 of ~1,000,000 rows  40,000 rows/s  ETA 12 s',
  );
  assert.equal(
    formatProgressLine({ pipeline: 'accounts', done: 0, estimate: 1_000_000, rowsPerSecond: null }, wide),
    'accounts  [░░░░░░░░░░]   0%  0 of ~1,000,000 rows',
  );
  assert.equal(formatProgressLine({ pipeline: 'events', done: 130_000, estimate: null, rowsPerSecond: 18_400.4 }, wide), 'events  130,000 rows  18,400 rows/s');
  assert.equal(
    formatProgressLine({ pipeline: 'events', done: 1_200, estimate: 1_000, rowsPerSecond: 100 }, wide),
    'events  1,200 rows  100 rows/s',
    'the estimate was stale: no bar stuck at 100%',
  );
  assert.equal(
    formatProgressLine({ pipeline: 'a', done: 10, estimate: 100, rowsPerSecond: 1 }, { width: 200, nameWidth: 5, barWidth: 4 }).slice(0, 8),
    'a      [',
  );
  const narrow = formatProgressLine({ pipeline: 'accounts', done: 520_000, estimate: 1_000_000, rowsPerSecond: 40_000 }, { width: 30 });
  assert.equal(narrow.length, 30, 'never wider than the terminal (a wrapped line would break the redraw)');
  assert.ok(narrow.endsWith('…'));
});

test('ETA reads as seconds, minutes or hours', () => {
  assert.equal(formatEta(0), '0 s');
  assert.equal(formatEta(59.4), '59 s');
  assert.equal(formatEta(245), '4 min 05 s');
  assert.equal(formatEta(7_800), '2 h 10 min');
});

test('bars only on a terminal, and not with --no-progress or TERM=dumb', () => {
  assert.equal(progressWanted({ stderrIsTTY: true, flag: true, term: 'xterm-256color' }), true);
  assert.equal(progressWanted({ stderrIsTTY: false, flag: true, term: 'xterm' }), false);
  assert.equal(progressWanted({ stderrIsTTY: true, flag: false, term: 'xterm' }), false);
  assert.equal(progressWanted({ stderrIsTTY: true, flag: true, term: 'dumb' }), false);
  assert.equal(progressWanted({ stderrIsTTY: true, flag: true, term: undefined }), true);
});

test('log lines written while bars are drawn reach the screen whole and in order, above the bars; ended bars leave nothing', () => {
  let out = '';
  let clock = 0;
  const p = new TerminalProgress({ write: (t: string) => (out += t), columns: 100 }, () => clock);
  p.log('10:00:00 INFO: scheduled accounts\n');
  p.begin('accounts', { done: 0, estimate: 1000 });
  p.begin('invoice_lines', { done: 500, estimate: null });
  clock = 2000;
  p.advance('accounts', 400);
  p.advance('invoice_lines', 1000);
  p.advance('unknown', 5); // not bootstrapping: no bar
  p.log('10:00:02 INFO: a line while bars are drawn\n');
  assert.deepEqual(screen(out), [
    '10:00:00 INFO: scheduled accounts',
    '10:00:02 INFO: a line while bars are drawn',
    'accounts       [████████░░░░░░░░░░░░]  40%  400 of ~1,000 rows  200 rows/s  ETA 3 s',
    'invoice_lines  1,500 rows  500 rows/s',
  ]);
  p.end('accounts');
  p.log('10:00:03 INFO: accounts synced\n');
  assert.deepEqual(screen(out), [
    '10:00:00 INFO: scheduled accounts',
    '10:00:02 INFO: a line while bars are drawn',
    '10:00:03 INFO: accounts synced',
    'invoice_lines  1,500 rows  500 rows/s',
  ]);
  p.close();
  p.log('10:00:04 INFO: after\n');
  p.begin('late', { done: 0, estimate: 10 }); // closed: draws nothing
  assert.deepEqual(screen(out), [
    '10:00:00 INFO: scheduled accounts',
    '10:00:02 INFO: a line while bars are drawn',
    '10:00:03 INFO: accounts synced',
    '10:00:04 INFO: after',
  ]);
});

test('a terminal that reports 0 columns (a pseudo-terminal without a size) is taken as 80 wide', () => {
  const p = new TerminalProgress({ write: () => {}, columns: 0 }, () => 0);
  p.begin('a', { done: 0, estimate: 10 });
  assert.equal(p.lines()[0], 'a  [░░░░░░░░░░░░░░░░░░░░]   0%  0 of ~10 rows');
  const narrow = new TerminalProgress({ write: () => {}, columns: 25 }, () => 0);
  narrow.begin('a', { done: 0, estimate: 10 });
  assert.equal(narrow.lines()[0].length, 24);
});

test('the screen emulator itself: up-and-erase, carriage returns and colours', () => {
  assert.deepEqual(screen('a\nb\nc\n\x1b[2F\x1b[Jx\n'), ['a', 'x']);
  assert.deepEqual(screen('\x1b[32mgreen\x1b[39m\r\nnext\r\n'), ['green', 'next']);
  assert.throws(() => screen('\x1b[2A'), /unsupported control/);
});
