/** `pgduck plan [name] [--json]`: the compiled plan, as data, with no database. */
import { compile } from '../runner/compile.js';
import type { Settings } from '../runner/settings.js';
import { selectPipelines } from './run.js';
import { formatTypeTable } from '../schema/column-mapping-report.js';

export async function planCommand(settings: Settings, name: string | undefined, opts: { json: boolean }): Promise<number> {
  const specs = selectPipelines(settings, name ? [name] : undefined, process.stderr);
  if (!specs) return 2;
  const plans = specs.map((s) => compile(s, { duckdbPath: settings.duckdbPath }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(name ? plans[0] : plans, null, 2)}\n`);
    return 0;
  }
  for (const p of plans) {
    const lines = [
      `pipeline ${p.pipeline}  (${p.file})${p.enabled ? '' : '  [disabled]'}`,
      `  source     ${p.source.table}  key (${p.source.primaryKey.join(', ')})  cursor ${p.source.cursor}${p.source.softDelete ? `  tombstone ${p.source.softDelete}` : ''}`,
      `  target     ${p.target.duckdbPath} :: ${p.target.table}${p.target.currentView ? `  (+ view ${p.target.currentView})` : ''}`,
      `  schedule   ${p.schedule.cron} (${p.schedule.timezone}); next: ${p.schedule.next.join(', ')}`,
      `  batches    ${p.batchSize} rows; schema_evolution ${p.schemaEvolution}`,
      '  stages',
      ...p.steps.map((s, i) => {
        const { stage, sql, ...rest } = s;
        const detail = Object.entries(rest).map(([k, v]) => `${k}: ${String(v)}`).join('; ');
        const sqlText = typeof sql === 'string' ? `\n${sql.split('\n').map((l) => `         ${l}`).join('\n')}` : '';
        return `    ${i + 1}. ${stage.padEnd(12)} ${detail}${sqlText}`;
      }),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  // One mapping for every pipeline (src/schema/type-map.ts): each source column arrives exactly or is refused.
  process.stdout.write(`type mapping (Postgres → DuckDB)\n${formatTypeTable().join('\n')}\n`);
  return 0;
}
