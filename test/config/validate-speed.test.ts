// Its own file, so the first validate in this process is cold: it includes compiling the schema.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pipelineValidator } from '../../src/config/validate-against-schema.js';
import { captureValidate } from './capture-validate.js';

const dir = mkdtempSync(join(tmpdir(), 'pgduck-speed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('five files validate well under a second, with the schema compiled once', async (t) => {
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    writeFileSync(
      join(dir, `${name}.yml`),
      `source: {table: public.${name}, primary_key: [id], cursor: updated_at, connection: "\${DB_URL}"}\n` +
        `target: {table: ${name}}\nbatch_size: \${BATCH:-5000}\nschedule: "0 */5 * * * *"\ntimezone: Europe/Berlin\n`,
    );
  }
  const env = { DB_URL: 'postgres://localhost/app' };
  const cold = performance.now();
  const first = await captureValidate([dir], { json: false, env });
  const coldMs = performance.now() - cold;
  assert.equal(first.output, '✓ 5 pipelines valid\n');
  // Measured ~150–250 ms on an idle 2-core machine; the bound is the "under a second", kept
  // generous because other test suites may share the CPU.
  assert.ok(coldMs < 1000, `cold validate (ajv compile included) took ${coldMs.toFixed(0)} ms`);

  const validator = pipelineValidator();
  const warm = performance.now();
  await captureValidate([dir], { json: false, env });
  const warmMs = performance.now() - warm;
  assert.equal(pipelineValidator(), validator, 'the ajv schema is compiled once per process');
  assert.ok(warmMs < 500, `warm validate took ${warmMs.toFixed(0)} ms`);
  t.diagnostic(`cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(1)} ms`);
});
