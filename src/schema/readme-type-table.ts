/**
 * The README's copy of the type table, generated from TYPE_TABLE: it lives between two markers so a
 * script can rewrite it and a test can fail when it is stale.
 */
import { typeTableMarkdown } from './type-map.js';

const BEGIN = /<!-- types:begin[^\n]*-->\n/;
const END = '<!-- types:end -->';

/** The table currently between the markers, or null when the markers are missing. */
export function readTypeTable(readme: string): string | null {
  const begin = BEGIN.exec(readme);
  const end = readme.indexOf(END);
  if (!begin || end < begin.index) return null;
  return readme.slice(begin.index + begin[0].length, end).trimEnd();
}

/** The README with the table between the markers replaced by typeTableMarkdown(). */
export function replaceTypeTable(readme: string): string {
  const begin = BEGIN.exec(readme);
  const end = readme.indexOf(END);
  if (!begin || end < begin.index) throw new Error(`README has no ${BEGIN.source} … ${END} markers`);
  return `${readme.slice(0, begin.index + begin[0].length)}${typeTableMarkdown()}\n${readme.slice(end)}`;
}
