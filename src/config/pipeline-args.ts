import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINE_NAME } from './load-pipeline-file.js';

/**
 * `validate`'s arguments, which may be paths or pipeline names as the other commands take them: an
 * argument that is no existing path but names `<pipelinesDir>/<name>.yml` (or `.yaml`) becomes that
 * file. Anything else is kept, so a missing path is still reported as such.
 */
export function resolvePipelineArgs(args: readonly string[], pipelinesDir: string): string[] {
  return args.flatMap((arg) => {
    if (existsSync(arg) || !PIPELINE_NAME.test(arg)) return [arg];
    const files = ['.yml', '.yaml'].map((ext) => join(pipelinesDir, `${arg}${ext}`)).filter((f) => existsSync(f));
    return files.length > 0 ? files : [arg];
  });
}
