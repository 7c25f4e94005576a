import type { ConfigPath } from './config-path.js';

/**
 * A problem with one field of one file, before it is given a line:col. The loader turns it into a
 * ConfigProblem with YamlLocator: at the key (`at: 'key'`), at `needle` inside the value's text,
 * or at the value.
 */
export interface FieldIssue {
  path: ConfigPath;
  at?: 'key' | 'value';
  /** Text inside the value to point at, e.g. the `${DB_URL}` in a longer string. */
  needle?: string;
  message: string;
}
