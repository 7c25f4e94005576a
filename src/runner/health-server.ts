/**
 * The service's HTTP endpoints on `pgduck run --listen host:port` (or PGDUCK_LISTEN), plain node:http
 * (two read-only routes need no framework):
 *
 *   GET /healthz   200 or 503 with a JSON body: the decision of src/runner/service-health.ts, each
 *                  pipeline's state, and the blocked pipelines that make it unhealthy (kind, code, fix)
 *   GET /metrics   Prometheus text format (src/runner/service-metrics.ts)
 *
 * It binds before the scheduler starts, so an address that cannot be bound (in use, not an address
 * of this machine, a privileged port) stops `run` with LISTEN_UNAVAILABLE before any pipeline runs,
 * rather than a service running blind. It serves 503 from SIGTERM until the batches in flight have
 * finished, then closes. Nothing it serves holds a secret: failure messages were cleaned of
 * connection strings where they were made (src/runner/pool.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PgduckError } from '../errors/pgduck-error.js';
import type { Logger } from '../log/logger.js';
import type { CheckpointStore } from '../state/checkpoint-store.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import type { PipelineView } from './scheduler.js';
import { judgeHealth, summarizeHealth, type HealthReport, type ServicePhase } from './service-health.js';
import { createServiceMetrics, type PipelineSeed, type ServiceMetrics } from './service-metrics.js';

export interface ServiceEndpoints {
  /** The address bound (the port the system chose when 0 was asked, in tests). */
  address: ListenAddress;
  /** Hooks for RunDeps.onBatch and the scheduler's onOutcome. */
  onBatch: ServiceMetrics['onBatch'];
  onOutcome: ServiceMetrics['onOutcome'];
  /** The scheduler is up: health follows its view from now on. */
  attach(view: () => readonly PipelineView[]): void;
  /** SIGTERM: unhealthy from now on (503) while the batches in flight finish. */
  stopping(): void;
  close(): Promise<void>;
}

export interface EndpointOptions {
  address: ListenAddress;
  blockedSeconds: number;
  log: Logger;
  /** Where the lag and last success start from before a pipeline's first run in this process. */
  store?: Pick<CheckpointStore, 'get' | 'sourceColumns'>;
  now?: () => number;
}

export async function startServiceEndpoints(opts: EndpointOptions): Promise<ServiceEndpoints> {
  const now = opts.now ?? Date.now;
  let phase: ServicePhase = 'starting';
  let view: () => readonly PipelineView[] = () => [];
  const health = (): HealthReport => judgeHealth(view(), { phase, now: now(), blockedSeconds: opts.blockedSeconds });
  const { store } = opts;
  const seed = store ? (pipeline: string) => seedFrom(store, pipeline) : undefined;
  const warn = (pipeline: string, message: string) => opts.log.warn({ pipeline }, message);
  const metrics = createServiceMetrics({ view: () => view(), healthy: () => health().healthy, seed, now, warn });

  const server = await listen(opts.address, async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    if (path === '/healthz') {
      const report = health();
      return send(res, report.healthy ? 200 : 503, 'application/json', `${JSON.stringify({ ...report, summary: summarizeHealth(report) }, null, 2)}\n`);
    }
    if (path === '/metrics') return send(res, 200, metrics.contentType, await metrics.render());
    if (path === '/') return send(res, 200, 'text/plain; charset=utf-8', 'pgduck run: /healthz (200 healthy, 503 not), /metrics (Prometheus)\n');
    return send(res, 404, 'text/plain; charset=utf-8', `not found: ${path} (try /healthz or /metrics)\n`);
  });
  const bound = server.address() as AddressInfo;
  const address = { host: opts.address.host, port: bound.port };
  opts.log.info({ listen: formatListenAddress(address) }, `serving /healthz and /metrics on http://${formatListenAddress(address)}`);
  return {
    address,
    onBatch: metrics.onBatch,
    onOutcome: metrics.onOutcome,
    attach(v) {
      view = v;
      if (phase === 'starting') phase = 'running';
      // Now, before the first runs record their outcome: the state store still holds the last success before this process.
      metrics.track();
    },
    stopping() {
      phase = 'stopping';
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The checkpoint's cursor, its last successful run (kept through failed runs), and the source's column types (for the
 * cursor's clock); what the store cannot give (a lock held too long) is left out, the rest kept.
 */
function seedFrom(store: Pick<CheckpointStore, 'get' | 'sourceColumns'>, pipeline: string): PipelineSeed {
  const seed: PipelineSeed = { cursor: null, lastSuccessMs: null };
  try {
    const c = store.get(pipeline);
    const at = c?.lastSuccessAt ? Date.parse(c.lastSuccessAt) : Number.NaN;
    seed.cursor = c?.position?.cursor ?? null;
    seed.lastSuccessMs = Number.isFinite(at) ? at : null;
    seed.columnTypes = Object.fromEntries(store.sourceColumns(pipeline).map((col) => [col.name, col.baseType ?? col.pgType]));
  } catch {
    // keep what was read
  }
  return seed;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Bind, or say in one line why not (LISTEN_UNAVAILABLE, kind config: exit 3). */
function listen(address: ListenAddress, handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  // A scrape must never keep the process alive, nor hold up its exit.
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(address, err)));
    server.listen({ host: address.host, port: address.port }, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve(server);
    });
  });
}

export function listenError(address: ListenAddress, err: NodeJS.ErrnoException): PgduckError {
  const at = formatListenAddress(address);
  const why: Record<string, string> = {
    EADDRINUSE: `${at} is already in use (another process listens there: another pgduck run, or another service)`,
    EACCES: `not allowed to listen on ${at} (ports below 1024 need privileges)`,
    EADDRNOTAVAIL: `${address.host} is not an address of this machine`,
    ENOTFOUND: `the host ${address.host} does not resolve`,
    EAI_AGAIN: `the host ${address.host} does not resolve (temporary failure in name resolution)`,
  };
  const reason = why[err.code ?? ''] ?? err.message;
  return new PgduckError(`cannot serve /healthz and /metrics on ${at}: ${reason}`, {
    kind: 'config',
    code: 'LISTEN_UNAVAILABLE',
    fix: 'choose another address with --listen or PGDUCK_LISTEN (host:port), or unset it to serve nothing',
    cause: err,
  });
}
