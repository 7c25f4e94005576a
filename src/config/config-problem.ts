/**
 * One thing wrong with the configuration, pinned to where it is written. `line` and `col` are
 * 1-based; a problem about a whole file (missing, unreadable, bad name) points at 1:1. `path` is
 * the dotted field path (`source.primary_key`, `source.primary_key[1]`), empty for the whole file.
 * `message` never contains the resolved value of an environment variable.
 */
export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  /**
   * Set when the value at fault was inherited from a shared-defaults file: `file` is then that
   * `_defaults.yml` (where the value is written) and this is the pipeline file it made invalid.
   */
  inheritedBy?: string;
}

/** File order as given, then top-down within a file: the order a user fixes them in. */
export function sortProblems(problems: readonly ConfigProblem[], fileOrder: readonly string[] = []): ConfigProblem[] {
  const rank = new Map(fileOrder.map((file, i) => [file, i]));
  const fileRank = (file: string) => rank.get(file) ?? Number.MAX_SAFE_INTEGER;
  return [...problems].sort(
    (a, b) => fileRank(a.file) - fileRank(b.file) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col,
  );
}
