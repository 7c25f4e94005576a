import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Scalar } from 'yaml';
import type { ConfigPath } from './config-path.js';

export interface Position {
  line: number;
  col: number;
}

interface Step {
  /** The key node of the map entry reached by this step (absent for sequence items and the root). */
  key?: Node | null;
  /** The value node reached (null for `key:` with nothing after it). */
  value: Node | null;
}

/**
 * Answers "where in the file is this field?" for a parsed YAML document. A path that does not
 * exist (a missing required key) resolves to the deepest part of it that does, so every problem
 * gets a real line:col.
 */
export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    private readonly text: string,
  ) {}

  /**
   * Line and column of a field. A scalar value is pointed at directly (`batch_size: abc` → `abc`);
   * a mapping, a list or an empty value is pointed at by its key, which is where a reader looks.
   * `at: 'key'` points at the key even for scalars (unknown keys).
   */
  position(path: ConfigPath, at: 'value' | 'key' = 'value'): Position {
    const steps = this.walk(path);
    const found = steps.length === path.length + 1;
    const last = steps[steps.length - 1];
    const wantKey = at === 'key' || !found;
    const offset = this.offsetOf(last, wantKey) ?? this.offsetOf(steps[0], false);
    return offset === undefined ? { line: 1, col: 1 } : this.linePos(offset);
  }

  /** Whether the file writes `path` (a scalar, a list or a mapping), as opposed to leaving it to a default. */
  has(path: ConfigPath): boolean {
    return this.walk(path).length === path.length + 1;
  }

  /** The scalar node at `path`, when the path ends at one. */
  scalar(path: ConfigPath): Scalar | undefined {
    const steps = this.walk(path);
    if (steps.length !== path.length + 1) return undefined;
    const value = steps[steps.length - 1].value;
    return isScalar(value) ? value : undefined;
  }

  /**
   * Position of `needle` inside the source text of the scalar at `path` (e.g. the `${DB_URL}` in
   * `connection: postgres://${DB_URL}`). Falls back to the field's position when the text is not
   * found verbatim (escapes in a quoted string, folded block scalars).
   */
  positionInScalar(path: ConfigPath, needle: string): Position {
    const node = this.scalar(path);
    if (node?.range) {
      const [start, end] = node.range;
      const index = this.text.slice(start, end).indexOf(needle);
      if (index >= 0) return this.linePos(start + index);
    }
    return this.position(path);
  }

  /** Position of a character offset in the file. */
  linePos(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    // LineCounter reports line 0 before its first newline only when it never saw one.
    return line === 0 ? { line: 1, col: offset + 1 } : { line, col };
  }

  private walk(path: ConfigPath): Step[] {
    const steps: Step[] = [{ value: this.resolve(this.doc.contents as Node | null) }];
    for (const segment of path) {
      const node = steps[steps.length - 1].value;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(segment));
        if (!pair) break;
        steps.push({ key: pair.key as Node | null, value: this.resolve(pair.value as Node | null) });
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        steps.push({ value: this.resolve(node.items[segment] as Node | null) });
      } else {
        break;
      }
    }
    return steps;
  }

  private resolve(node: Node | null): Node | null {
    // An alias has no position of its own worth showing: point at what it stands for.
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? node;
    return node;
  }

  private offsetOf(step: Step, preferKey: boolean): number | undefined {
    const valueStart = step.value?.range?.[0];
    const keyStart = step.key?.range?.[0];
    const isPlainValue = isScalar(step.value) && step.value.value !== null;
    if (preferKey || !isPlainValue) return keyStart ?? valueStart;
    return valueStart ?? keyStart;
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}
