/**
 * Rewrite the type table in README.md from TYPE_TABLE (src/schema/type-map.ts, read from the type
 * mapping itself), between the `<!-- types:begin … -->` and `<!-- types:end -->` markers.
 * test/types/type-table.test.ts fails when the README copy differs. Run: npx tsx scripts/readme-types.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { replaceTypeTable } from '../src/schema/readme-type-table.js';

const path = fileURLToPath(new URL('../README.md', import.meta.url));
const before = readFileSync(path, 'utf8');
const after = replaceTypeTable(before);
if (after !== before) writeFileSync(path, after);
process.stdout.write(after === before ? 'README.md type table is up to date\n' : 'README.md type table rewritten\n');
