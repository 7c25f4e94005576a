export type TableNameParse = { schema?: string; table: string } | { error: string };

/**
 * Splits `table`, `schema.table` or a double-quoted form (`"my.schema"."t"`, `public."Order Items"`)
 * into its parts. Unquoted parts are taken verbatim, not case-folded: pgduck quotes every
 * identifier on use, so `Orders` means the table named exactly `Orders`. Quotes are only needed
 * for a part that contains a dot or a double quote (written `""` inside quotes).
 */
export function parseTableName(text: string): TableNameParse {
  const parts: string[] = [];
  let i = 0;
  while (i <= text.length) {
    let part = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return { error: 'has an unclosed double quote' };
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i++];
      }
      if (i < text.length && text[i] !== '.') return { error: 'has text after a closing double quote; write "schema"."table"' };
    } else {
      const dot = text.indexOf('.', i);
      part = text.slice(i, dot < 0 ? text.length : dot);
      i += part.length;
      if (part.includes('"')) return { error: 'has a double quote inside an unquoted name; quote the whole part: "my.schema"."table"' };
    }
    if (part === '') return { error: 'has an empty name part; write `table` or `schema.table`' };
    parts.push(part);
    if (i >= text.length) break;
    i++; // the dot
    if (i >= text.length) return { error: 'ends with a dot; write `table` or `schema.table`' };
  }
  if (parts.length === 1) return { table: parts[0] };
  if (parts.length === 2) return { schema: parts[0], table: parts[1] };
  return { error: `has ${parts.length} dotted parts; write \`table\` or \`schema.table\` (double-quote a name that contains a dot)` };
}
