/**
 * `npm run bench:validate`: how long `validate` takes on five pipeline files, cold (the first in a
 * process, loading the precompiled validator) and warm. A printed measurement, not a test: on a shared CPU
 * any bound is flaky. Measured ~150–250 ms cold on an idle 2-core machine; the issue asks under a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureValidate } from '../test/config/capture-validate.js';
import { FIVE_PIPELINES_ENV, writeFivePipelines } from '../test/config/five-pipelines.js';

const dir = mkdtempSync(join(tmpdir(), 'pgduck-bench-validate-'));
try {
  writeFivePipelines(dir);
  const timed = async () => {
    const start = performance.now();
    const r = await captureValidate([dir], { json: false, env: FIVE_PIPELINES_ENV });
    if (r.code !== 0) throw new Error(`validate failed:\n${r.output}`);
    return performance.now() - start;
  };
  const cold = await timed();
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push(await timed());
  warm.sort((a, b) => a - b);
  console.log(`validate, 5 files: cold ${cold.toFixed(0)} ms (validator load included), warm median ${warm[2].toFixed(1)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
