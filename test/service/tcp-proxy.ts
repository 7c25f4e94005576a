/**
 * A TCP proxy in front of the test Postgres: it counts connection attempts, and can go down (every
 * open connection cut, new ones refused) and come back on the same port — what a client sees when
 * Postgres restarts or fails over, without stopping the shared server the other test files use.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** The source URL with its host and port pointing at the proxy. */
  url(target: string): string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  let count = 0;
  let server: net.Server | null = null;
  let listenPort = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      if (server) return resolve(); // already up
      server = net.createServer((client) => {
        count++;
        const upstream = net.connect(Number(port || 5432), hostname === 'localhost' ? '127.0.0.1' : hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => {});
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => {
        listenPort = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await listen();
  return {
    get port() {
      return listenPort;
    },
    connections: () => count,
    url(t) {
      const u = new URL(t);
      u.hostname = '127.0.0.1';
      u.port = String(listenPort);
      return u.toString();
    },
    down,
    up: listen,
    close: down,
  };
}
