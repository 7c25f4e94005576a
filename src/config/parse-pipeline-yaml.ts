import { isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { YamlLocator, type Position } from './yaml-locator.js';

export interface YamlIssue extends Position {
  message: string;
}

export interface ParsedPipelineYaml {
  /** The document as plain data; undefined when the file cannot be read as one mapping. */
  data: Record<string, unknown> | undefined;
  locator: YamlLocator;
  /** Syntax errors, warnings (unknown tags…), an empty file, a top level that is not a mapping. */
  issues: YamlIssue[];
}

/**
 * Parses one pipeline file, keeping node positions for later messages. Syntax problems come back
 * as issues rather than throwing; when there are any, `data` is undefined, because checking the
 * fields of a half-parsed document only adds noise to the one message that matters.
 * `emptyIsNothing`: an empty document is an empty mapping rather than a problem (_defaults.yml).
 */
export function parsePipelineYaml(text: string, options: { emptyIsNothing?: boolean } = {}): ParsedPipelineYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(doc, lineCounter, text);
  const issues: YamlIssue[] = [
    ...doc.errors.map((e) => ({ ...locator.linePos(e.pos[0]), message: `YAML syntax error: ${describeYamlError(e, text)}` })),
    ...doc.warnings.map((w) => ({ ...locator.linePos(w.pos[0]), message: `YAML: ${describeYamlError(w, text)}` })),
  ];
  if (issues.length > 0) return { data: undefined, locator, issues };

  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    // A shared-defaults file may be empty (it shares nothing); a pipeline file may not.
    if (options.emptyIsNothing) return { data: {}, locator, issues };
    issues.push({ line: 1, col: 1, message: 'the file is empty: a pipeline needs at least `source` and `target`' });
    return { data: undefined, locator, issues };
  }
  if (!isMap(contents)) {
    const kind = isSeq(contents) ? 'a list' : 'a single value';
    issues.push({ ...locator.position([]), message: `the top level must be a mapping of fields (source:, target:, …), not ${kind}` });
    return { data: undefined, locator, issues };
  }
  const data = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  return { data, locator, issues };
}

function describeYamlError(error: YAMLError, text: string): string {
  switch (error.code) {
    case 'DUPLICATE_KEY':
      // error.pos covers only the key's first character: take the key up to its colon.
      return `key \`${/^[^:\n]*/.exec(text.slice(error.pos[0]))![0].trim()}\` appears twice in the same mapping`;
    case 'MULTIPLE_DOCS':
      return 'a pipeline file holds one YAML document; remove the second `---` and what follows it (or move it to its own file)';
    default:
      return error.message;
  }
}
