/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), for assertions on what
 * `/metrics` serves: what a scraper would read, independent of the library that wrote it.
 *
 *   # HELP name text
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   name{label="value",…} 1.5 [timestamp]
 *
 * Label values may hold \\, \" and \n escapes; values may be NaN, +Inf, -Inf (in any case, as
 * Prometheus's Go parser reads them: prom-client writes `Nan`). Anything else that is
 * not a comment or a blank line is a parse error (a test should fail on a malformed exposition).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) throw new Error(`unknown type at ${where}`);
        types.set(m[2], m[3]);
      } else help.set(m[2], m[3]);
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`no metric name at ${where}`);
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const label = NAME.exec(line.slice(at))?.[0];
        if (!label || line[at + label.length] !== '=' || line[at + label.length + 1] !== '"') throw new Error(`bad label at ${where}`);
        at += label.length + 2;
        let value = '';
        for (;;) {
          const c = line[at++];
          if (c === undefined) throw new Error(`unterminated label value at ${where}`);
          if (c === '"') break;
          if (c === '\\') {
            const e = line[at++];
            value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e}`;
          } else value += c;
        }
        labels[label] = value;
        if (line[at] === ',') at++;
        else if (line[at] !== '}') throw new Error(`expected , or } at ${where}`);
      }
      at++;
    }
    const rest = line.slice(at).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new Error(`expected a value at ${where}`);
    const raw = rest[0];
    const special: Record<string, number> = { '+inf': Infinity, inf: Infinity, '-inf': -Infinity, nan: Number.NaN };
    const value = raw.toLowerCase() in special ? special[raw.toLowerCase()] : Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`bad value at ${where}`);
    samples.push({ name, labels, value });
  }
  return { samples, types, help };
}

/** Samples of `name` whose labels include `labels`. */
export function select(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample of `name` with these labels (fails when there is none, or several). */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = select(e, name, labels);
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
}
