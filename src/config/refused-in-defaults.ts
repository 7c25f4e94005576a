/**
 * Fields a shared-defaults file may not set, each with the reason a user is told. They name one
 * table (or one pipeline), so sharing them would make every pipeline of the directory read or
 * write the same table. Pure data: used by the schema generator (defaults-json-schema.ts, which
 * leaves them out of schema/defaults.schema.json) and by the loader (load-defaults-file.ts, which
 * refuses them with this message rather than as an unknown field).
 */
export interface RefusedField {
  path: readonly string[];
  reason: string;
}

export const REFUSED_IN_DEFAULTS: readonly RefusedField[] = [
  { path: ['name'], reason: 'a pipeline is named by its file stem (accounts.yml is pipeline `accounts`), not by a field' },
  { path: ['source', 'table'], reason: 'it names one table; each pipeline file names its own source.table' },
  { path: ['source', 'primary_key'], reason: "it is one table's key; each pipeline file names its own source.primary_key" },
  {
    path: ['target', 'table'],
    reason: 'it names one DuckDB table, which takes exactly one pipeline; each pipeline file names its own target.table',
  },
];
