/** What `npm run bench` prints: the measurements as a table, then one met / not met line per target. Pure. */
import { median, type BenchResult, type BootstrapSeries } from './bench-result.js';

const pad = (s: string, n: number) => s.padEnd(n);
const num = (n: number) => n.toLocaleString('en');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const spread = (values: number[], f: (v: number) => string) => (values.length > 1 ? ` (${values.map(f).join(', ')})` : '');

export function formatBenchReport(result: BenchResult): string {
  const { options, machine } = result;
  const lines = [
    '',
    `bench_events: ${options.columns} columns${options.keyIndex === false ? ', target.key_index: false' : ''}${(options.parallel ?? 1) > 1 ? `, bootstrap.parallel: ${options.parallel}` : ''}; ${options.rounds} round${options.rounds === 1 ? '' : 's'}, medians` +
      ` (rounds in brackets); ${machine.cpus} × ${machine.cpuModel}, ${num(machine.memoryMb)} MB, node ${machine.node};` +
      ` load average ${machine.loadAverageAtStart.map((l) => l.toFixed(1)).join(' ')} at start, ${machine.loadAverageAtEnd.map((l) => l.toFixed(1)).join(' ')} at end`,
    '',
    `${pad('rows', 11)}${pad('bootstrap', 24)}${pad('time', 26)}${pad('rows/s', 10)}${pad('ratio', 8)}peak RSS`,
  ];
  for (const s of result.scales) {
    for (const series of [s.baseline, ...s.bootstrap]) {
      const label = series.batchSize === null ? 'COPY csv + read_csv' : `pgduck, batch ${num(series.batchSize)}`;
      lines.push(
        `${pad(num(s.rows), 11)}${pad(label, 24)}${pad(
          `${secs(series.medianMs)}${spread(
            series.rounds.map((r) => r.ms),
            (v) => (v / 1000).toFixed(1),
          )}`,
          26,
        )}` +
          `${pad(num(series.rowsPerSecond), 10)}${pad(series.medianRatio === null ? '' : `${series.medianRatio.toFixed(2)}×`, 8)}` +
          `${series.medianRssMb.toFixed(0)} MB${spread(
            series.rounds.map((r) => r.maxRssKb / 1024),
            (v) => v.toFixed(0),
          )}`,
      );
    }
  }
  lines.push('');
  for (const s of result.scales) {
    const inc = s.incremental;
    lines.push(
      `incremental, ${num(inc.changedRows)} changed rows at ${num(s.rows)} (after batch ${num(inc.batchSize)}): ` +
        `in-process ${inc.medianInProcessMs.toFixed(0)} ms${spread(inc.inProcessMs, (v) => v.toFixed(0))}, ` +
        `CLI process ${inc.medianCliMs.toFixed(0)} ms${spread(inc.cliMs, (v) => v.toFixed(0))}`,
    );
  }
  lines.push('', 'where the time goes (medians; CPU: user + system of the process, every thread, and of the Postgres server):');
  for (const s of result.scales) {
    for (const series of [s.baseline, ...s.bootstrap]) lines.push(`  ${pad(num(s.rows), 11)}${breakdown(series)}`);
    const inc = s.incremental;
    if (inc.inProcessStagesMs && inc.inProcessStagesMs.length > 0) {
      const cpu = inc.inProcessCpuMs && inc.inProcessCpuMs.length > 0 ? `; CPU ${median(inc.inProcessCpuMs).toFixed(0)} ms` : '';
      lines.push(
        `  ${pad(num(s.rows), 11)}incremental cycle ${inc.medianInProcessMs.toFixed(0)} ms: ${stages(inc.inProcessStagesMs, (v) => `${v.toFixed(0)}`)} ms${cpu}`,
      );
    }
  }
  for (const s of result.scales) {
    lines.push(`queries at ${num(s.rows)}, warm (cold): ${s.queries.map((q) => `${q.name} ${q.warmMs.toFixed(1)} ms (${q.coldMs.toFixed(0)})`).join('; ')}`);
  }
  if (result.parquetColumns.length > 0) {
    lines.push(`Parquet batch file columns: ${result.parquetColumns.map((c) => `${c.column} ${c.parquetType}`).join(', ')}`);
  }
  lines.push('', 'targets (issue 11):');
  for (const t of result.targets) lines.push(`  ${t.met ? 'met    ' : 'NOT MET'}  ${t.target}: ${t.measured}`);
  const missed = result.targets.filter((t) => !t.met).length;
  lines.push(`${result.targets.length - missed} of ${result.targets.length} targets met`);
  return `${lines.join('\n')}\n`;
}

/** Per stage, the median over rounds, in run order: `read 1.20, parquet 3.10 …`. */
function stages(rounds: Record<string, number>[], f: (ms: number) => string): string {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r)))];
  return names.map((n) => `${n} ${f(median(rounds.map((r) => r[n] ?? 0)))}`).join(', ');
}

/** One bootstrap series' line: its steps or stages, then the CPU it cost and how many cores that is over its time. */
export function breakdown(series: BootstrapSeries): string {
  const label = series.batchSize === null ? 'COPY csv + read_csv' : `pgduck, batch ${num(series.batchSize)}`;
  const r = series.rounds;
  const parts: string[] = [];
  if (series.batchSize === null && r.every((x) => x.copyMs !== undefined && x.readCsvMs !== undefined)) {
    parts.push(`COPY to file ${secs(median(r.map((x) => x.copyMs ?? 0)))}, read_csv ${secs(median(r.map((x) => x.readCsvMs ?? 0)))}`);
  }
  const withStages = r.filter((x) => x.stagesMs).map((x) => x.stagesMs as Record<string, number>);
  if (withStages.length > 0) parts.push(`${stages(withStages, (v) => (v / 1000).toFixed(2))} s`);
  if (r.every((x) => x.cpuMs !== undefined)) {
    const cpu = median(r.map((x) => x.cpuMs ?? 0));
    const pgKnown = r.every((x) => typeof x.postgresCpuMs === 'number');
    const pg = pgKnown ? median(r.map((x) => x.postgresCpuMs ?? 0)) : null;
    const total = cpu + (pg ?? 0);
    parts.push(`CPU ${secs(cpu)} process${pg === null ? '' : ` + ${secs(pg)} Postgres = ${secs(total)}, ${(total / series.medianMs).toFixed(2)} cores busy`}`);
  }
  return `${pad(label, 24)}${secs(series.medianMs)}${parts.length > 0 ? `: ${parts.join('; ')}` : ''}`;
}
