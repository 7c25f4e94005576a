/**
 * The one place that imports @duckdb/node-api.
 *
 * A long-lived in-memory DuckDB instance ATTACHes each warehouse file while at least one pipeline
 * is using it and DETACHes it when the last one is done: the file lock is released between cycles,
 * so people can query the file while the runner idles (measured: docs/architecture.md#facts-duckdb).
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { quoteIdent, quoteLiteral } from '../sql/identifier.js';
import { catalogNameOf } from './catalog-name.js';
import { duckdbApi } from './duckdb-api.js';

export type Row = Record<string, unknown>;

/**
 * DuckDB 1.5's RLE compression treats -0.0 and 0.0 as one value: after a checkpoint a 0 next to a -0
 * reads back as -0 (measured; found by `pgduck verify`). Floats must arrive exactly, so RLE is off
 * for every file pgduck writes; the other methods (bitpacking, ALP, dictionary, constant) remain.
 */
async function createInstance(path: string, readOnly = false, memoryLimit: string | null = null): Promise<DuckDBInstance> {
  // @duckdb/node-api is loaded when the first file is opened (duckdb-api.ts).
  const { DuckDBInstance: Instance } = duckdbApi();
  const instance = await Instance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
  if (readOnly) return instance;
  try {
    // A SET, not a creation option: DuckDB 1.5 ignores this one in the instance config.
    const c = await instance.connect();
    try {
      await c.run(`SET GLOBAL disabled_compression_methods = 'rle'`);
      // Every Parquet file is read once (its upsert): caching it only grows memory with the history.
      await c.run(`SET GLOBAL enable_external_file_cache = false`);
      // No vacuum at checkpoints: a table with a key index is never vacuumed (DuckDB cannot while an
      // ART index is bound), and one without (target.key_index: false) was rewritten whole by it after
      // a bootstrap: each row-group transaction leaves a partial row group that vacuum merges with
      // its neighbour. Measured on a 1M-row batch-10,000 bootstrap without the index: 19.9 → 13.7 s of
      // CPU, 295 → 212 MB peak RSS; turned off for the bootstrap only, the first incremental run paid
      // it instead (5.4–6.1 s). The cost: the space of deleted rows is not reclaimed at checkpoints,
      // for either kind of table (docs/architecture.md, "Facts: DuckDB").
      await c.run('SET GLOBAL max_vacuum_tasks = 0');
      if (memoryLimit) await c.run(`SET GLOBAL memory_limit = ${quoteLiteral(memoryLimit)}`);
    } finally {
      c.closeSync();
    }
  } catch (err) {
    instance.closeSync();
    throw err;
  }
  return instance;
}

/** One DuckDB connection bound to an attached warehouse file (catalog alias `catalog`). */
export interface LakeSession {
  /** Quoted catalog alias to qualify tables with: `${session.catalog}.main.${quoteIdent(t)}`. */
  readonly catalog: string;
  /** The catalog alias unquoted (for catalog queries such as duckdb_columns()). */
  readonly catalogName: string;
  run(sql: string): Promise<void>;
  /** Rows as JSON-safe values (BIGINT/DECIMAL as strings, timestamps as ISO text). */
  all(sql: string): Promise<Row[]>;
  /** Run fn inside BEGIN/COMMIT; ROLLBACK on any error (then rethrow). */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * A transaction on a connection of its own to the same file, open across calls until commit() or
   * rollback() (the runner's row groups, src/runner/row-group.ts). The session's own statements stay
   * outside it: in DuckDB any failed statement aborts the transaction it runs in, and the session
   * runs statements that may fail and be retried (a Parquet file written as text when typed fails).
   * One still open when the session ends is rolled back.
   */
  openTransaction(): Promise<LakeTransaction>;
  /**
   * Run a statement once per opening of the file, shared by all its sessions (pgduck's own
   * `CREATE TABLE IF NOT EXISTS`): concurrent callers wait for the one run. Call it before opening a
   * transaction that needs what it makes: a transaction open before a table was made never sees it.
   */
  runOnce(sql: string): Promise<void>;
}

/** An open DuckDB transaction (LakeSession.openTransaction): statements, then one commit() or rollback(). */
export interface LakeTransaction extends Pick<LakeSession, 'catalog' | 'catalogName' | 'run' | 'all'> {
  /** COMMIT and close the connection; on failure the transaction is rolled back and closed (then the error is thrown). */
  commit(): Promise<void>;
  /** ROLLBACK and close the connection; never throws (a lost transaction has nothing to undo). */
  rollback(): Promise<void>;
}

export class Lake {
  private instance: Promise<DuckDBInstance> | null = null;
  /** Sessions in progress, over all files. When it drops to 0 the instance is closed (see release). */
  private active = 0;
  /** The idle instance being closed: a session beginning meanwhile waits for it, then opens a new one. */
  private closing: Promise<void> | null = null;
  private readonly attached = new Map<string, { alias: string; users: number; attaching: Promise<void>; once: Map<string, Promise<void>> }>();
  /** DETACHes still running, by file: a new ATTACH of the same file must wait for its predecessor's. */
  private readonly detaching = new Map<string, Promise<void>>();

  /**
   * memoryLimit: DuckDB's memory_limit for this instance (PGDUCK_DUCKDB_MEMORY_LIMIT), e.g. '512MB'.
   * DuckDB's default is 80% of RAM, and it keeps a written table's blocks cached up to it (about
   * 40 MB per million rows measured here); a limit evicts them (they are on disk) and spills
   * large operations to DuckDB's temp directory. Too low a limit fails big batches with
   * "Out of Memory" (48MB failed a 666k-key delete here).
   */
  constructor(private readonly opts: { memoryLimit?: string | null } = {}) {}

  private async getInstance(): Promise<DuckDBInstance> {
    // Keep the promise, not the result: concurrent first callers must share one instance.
    this.instance ??= createInstance(':memory:', false, this.opts.memoryLimit ?? null);
    return this.instance;
  }

  /**
   * Attach `path` (created if missing) for the duration of fn, with a fresh connection.
   * Concurrent callers share one ATTACH; the last one out DETACHes, releasing the file lock.
   */
  async withSession<T>(path: string, fn: (session: LakeSession) => Promise<T>): Promise<T> {
    while (this.closing) await this.closing;
    this.active++;
    try {
      return await this.attachedSession(resolve(path), fn);
    } finally {
      this.release();
    }
  }

  /**
   * The last session out closes the instance. DuckDB returns most of its memory only then: the
   * written tables' cached blocks and, above all, what its threads' malloc arenas keep (measured:
   * 1M rows bootstrapped, 160–180 MB freed by the close, ~40 MB by a DETACH alone). A long run
   * therefore ends its session now and then (see runPipeline), and an idle service holds no DuckDB
   * memory between cycles. Opening again costs a few milliseconds.
   */
  private release(): void {
    this.active--;
    if (this.active > 0 || !this.instance) return;
    const instance = this.instance;
    this.instance = null;
    const closing: Promise<void> = instance
      .then((i) => i.closeSync())
      .catch(() => {}) // it never opened, or is gone already: nothing more to free
      .finally(() => {
        if (this.closing === closing) this.closing = null;
      });
    this.closing = closing;
  }

  private async attachedSession<T>(abs: string, fn: (session: LakeSession) => Promise<T>): Promise<T> {
    const instance = await this.getInstance();
    let entry = this.attached.get(abs);
    if (!entry) {
      mkdirSync(dirname(abs), { recursive: true });
      const alias = `lake_${createHash('sha1').update(abs).digest('hex').slice(0, 10)}`;
      const previous = this.detaching.get(abs);
      const attaching = (async () => {
        // The last user of the previous ATTACH may still be detaching it (more pipelines than the
        // pool runs at once share a file): attaching the alias again before that fails.
        await previous?.catch(() => {});
        const c = await instance.connect();
        try {
          await c.run(`ATTACH ${quoteLiteral(abs)} AS ${quoteIdent(alias)}`);
        } finally {
          c.closeSync();
        }
      })();
      entry = { alias, users: 0, attaching, once: new Map() };
      this.attached.set(abs, entry);
    }
    entry.users++;
    let conn: DuckDBConnection | null = null;
    let opened: ReturnType<typeof sessionFor> | null = null;
    try {
      try {
        await entry.attaching;
      } catch (err) {
        if (this.attached.get(abs) === entry) this.attached.delete(abs);
        throw new Error(`cannot open DuckDB file ${abs}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
      // Connect only after the ATTACH: a connection opened before it may not see the catalog.
      conn = await instance.connect();
      opened = sessionFor(
        conn,
        entry.alias,
        () => instance.connect(),
        onceFor(entry.once, () => instance.connect()),
      );
      return await fn(opened.session);
    } finally {
      await opened?.close();
      conn?.closeSync();
      entry.users--;
      if (entry.users === 0 && this.attached.get(abs) === entry) {
        this.attached.delete(abs);
        const alias = entry.alias;
        const detach = (async () => {
          const c = await instance.connect();
          try {
            await c.run(`DETACH ${quoteIdent(alias)}`);
          } catch {
            // a failed attach has nothing to detach
          } finally {
            c.closeSync();
          }
        })();
        this.detaching.set(abs, detach);
        try {
          await detach;
        } finally {
          if (this.detaching.get(abs) === detach) this.detaching.delete(abs);
        }
      }
    }
  }

  async close(): Promise<void> {
    const instance = this.instance;
    this.instance = null;
    await this.closing;
    if (instance) (await instance).closeSync();
  }
}

/** `run` and `all` over one connection: a session's own, or the one an open transaction holds. */
function statementsOn(conn: DuckDBConnection): Pick<LakeSession, 'run' | 'all'> {
  return {
    async run(sql) {
      await conn.run(sql);
    },
    async all(sql) {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJson() as Row[];
    },
  };
}

/** A session over `conn`; `close` rolls back the transactions it opened that are still open (call it before closing `conn`). */
/** LakeSession.runOnce over one opening of a file: each statement's run, kept (forgotten when it fails, to be tried again). */
function onceFor(runs: Map<string, Promise<void>>, connect: () => Promise<DuckDBConnection>): (sql: string) => Promise<void> {
  return (sql) => {
    let run = runs.get(sql);
    if (!run) {
      run = (async () => {
        const c = await connect();
        try {
          await c.run(sql);
        } finally {
          c.closeSync();
        }
      })();
      runs.set(sql, run);
      run.catch(() => runs.delete(sql));
    }
    return run;
  };
}

function sessionFor(
  conn: DuckDBConnection,
  catalogName: string,
  connect: () => Promise<DuckDBConnection>,
  runOnce: (sql: string) => Promise<void> = onceFor(new Map(), connect),
): { session: LakeSession; close: () => Promise<void> } {
  const open = new Set<LakeTransaction>();
  const session: LakeSession = {
    catalog: quoteIdent(catalogName),
    catalogName,
    runOnce,
    ...statementsOn(conn),
    async transaction(fn) {
      await conn.run('BEGIN TRANSACTION');
      try {
        const out = await fn();
        await conn.run('COMMIT');
        return out;
      } catch (err) {
        try {
          await conn.run('ROLLBACK');
        } catch {
          // the transaction may already be aborted; the original error is what matters
        }
        throw err;
      }
    },
    async openTransaction() {
      const c = await connect();
      try {
        await c.run('BEGIN TRANSACTION');
      } catch (err) {
        c.closeSync();
        throw err;
      }
      let done = false;
      const end = () => {
        done = true;
        open.delete(tx);
        c.closeSync();
      };
      const tx: LakeTransaction = {
        catalog: quoteIdent(catalogName),
        catalogName,
        ...statementsOn(c),
        async commit() {
          if (done) throw new Error('DuckDB transaction already ended');
          try {
            await c.run('COMMIT');
          } catch (err) {
            await c.run('ROLLBACK').catch(() => {});
            throw err;
          } finally {
            end();
          }
        },
        async rollback() {
          if (done) return;
          try {
            await c.run('ROLLBACK');
          } catch {
            // aborted or lost: nothing left to undo
          } finally {
            end();
          }
        },
      };
      open.add(tx);
      return tx;
    },
  };
  return {
    session,
    async close() {
      for (const tx of [...open]) await tx.rollback();
    },
  };
}

/**
 * How a caller gets a session on a warehouse file: withDuckDbFile (a command, an instance of its
 * own) or, inside `pgduck run`, the service's Lake (`(path, fn) => lake.withSession(path, fn)`).
 * Never the first inside the service: DuckDB's file lock is per process, so a second instance of a
 * file the Lake has attached opens without complaint (measured) and two writers share one file.
 */
export type OpenDuckDb = <T>(path: string, fn: (session: LakeSession) => Promise<T>, opts?: { readOnly?: boolean }) => Promise<T>;

/**
 * Open a warehouse file directly (for `query`, `verify` and tests): closed on every path.
 * Fails clearly when another process (a running `pgduck run`) holds the lock.
 */
export async function withDuckDbFile<T>(path: string, fn: (session: LakeSession) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  const instance = await createInstance(path, opts.readOnly).catch((err: Error) => {
    throw new Error(`cannot open DuckDB file ${path}: ${err.message.split('\n')[0]}`, { cause: err });
  });
  const conn = await instance.connect();
  const opened = sessionFor(conn, catalogNameOf(path), () => instance.connect());
  try {
    return await fn(opened.session);
  } finally {
    await opened.close();
    conn.closeSync();
    instance.closeSync();
  }
}
