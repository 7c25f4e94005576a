// Shared by the validate test and its timing (scripts/bench-validate.ts): five valid pipeline files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIVE_PIPELINES_ENV = { DB_URL: 'postgres://localhost/app' };

export function writeFivePipelines(dir: string): void {
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    writeFileSync(
      join(dir, `${name}.yml`),
      `source: {table: public.${name}, primary_key: [id], cursor: updated_at, connection: "\${DB_URL}"}\n` +
        `target: {table: ${name}}\nbatch_size: \${BATCH:-5000}\nschedule: "0 */5 * * * *"\ntimezone: Europe/Berlin\n`,
    );
  }
}
