/**
 * What a terminal shows after some output: a minimal emulator of the few controls pgduck writes to
 * stderr (newline, carriage return, ESC [ n F: up n lines to column 0, ESC [ J: erase to the end of
 * the screen; SGR colour sequences are ignored). For asserting that progress bars never cut a log
 * line: the screen's lines, not the bytes, are what a person reads.
 */
const ESC = String.fromCharCode(27);
const SGR = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
const CSI = new RegExp(`^${ESC}\\[(\\d*)([A-Za-z])`);

export function screen(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  const text = output.replace(SGR, '');
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\x1b') {
      const m = CSI.exec(text.slice(i));
      if (!m) throw new Error(`unknown escape at ${i}: ${JSON.stringify(text.slice(i, i + 8))}`);
      i += m[0].length - 1;
      const n = m[1] === '' ? 1 : Number(m[1]);
      if (m[2] === 'F') {
        row = Math.max(0, row - n);
        col = 0;
      } else if (m[2] === 'J') {
        lines.length = row + 1;
        lines[row] = lines[row].slice(0, col);
      } else if (m[2] === 'K') {
        lines[row] = lines[row].slice(0, col);
      } else throw new Error(`unsupported control ESC [ ${m[1]}${m[2]}`);
      continue;
    }
    if (c === '\n') {
      row++;
      col = 0;
      if (lines.length <= row) lines.push('');
      continue;
    }
    if (c === '\r') {
      col = 0;
      continue;
    }
    const line = lines[row];
    lines[row] = line.slice(0, col) + c + line.slice(col + 1);
    col++;
  }
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
