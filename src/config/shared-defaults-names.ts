/**
 * Which files of a pipelines directory are not pipelines. A file whose name starts with `_` is
 * reserved: `_defaults.yml` (or `_defaults.yaml`) holds the fields every pipeline file of its
 * directory inherits (docs/architecture.md#shape, "Files → spec"), and any other `_` file is left
 * alone, so that a later shared file cannot turn into a pipeline by accident.
 */
import { basename } from 'node:path';

/** The shared-defaults file names, in the order they are looked for. */
export const DEFAULTS_FILE_NAMES = ['_defaults.yml', '_defaults.yaml'] as const;

/** `_defaults.yml`, `_notes.yaml`: not a pipeline (its stem would start with `_`). */
export function isReservedFileName(path: string): boolean {
  return basename(path).startsWith('_');
}

/** `pipelines/_defaults.yml` or `…/_defaults.yaml` (case as written: file systems may differ, the name may not). */
export function isDefaultsFileName(path: string): boolean {
  return (DEFAULTS_FILE_NAMES as readonly string[]).includes(basename(path));
}
