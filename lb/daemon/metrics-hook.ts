// The hook for the Prometheus endpoint. lb/metrics (written separately) exports
// `createMetrics(view: DaemonView)`; whatever it returns is served on metrics.listen:
//   - an http request listener `(req, res) => ...`            → xlbd serves it on its own http server
//   - an object { handler: (req, res) => ..., close?() }      → the same, close() called at stop
//   - an object { listen(host, port): Promise, close(): ... } → the module serves it itself
// When lb/metrics is not part of the build, the daemon runs without /metrics and says so.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { DaemonView } from './view.js';

export interface MetricsEndpoint {
  close(): Promise<void>;
}

type Created =
  | RequestListener
  | { handler: RequestListener; close?: () => void | Promise<void> }
  | { listen(host: string, port: number): void | Promise<void>; close(): void | Promise<void> };

export type MetricsFactory = (view: DaemonView) => Created | Promise<Created>;

/** lb/metrics's createMetrics, or undefined when that module is not there. */
export async function loadMetricsFactory(): Promise<MetricsFactory | undefined> {
  // A computed specifier: the module is optional, so tsc must not insist that it exists.
  const url = new URL('../metrics/index.js', import.meta.url).href;
  try {
    const mod = (await import(url)) as { createMetrics?: MetricsFactory };
    return typeof mod.createMetrics === 'function' ? mod.createMetrics : undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ENOENT') return undefined;
    throw e;
  }
}

function listenHttp(handler: RequestListener, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host === 'localhost' ? '127.0.0.1' : host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startMetrics(factory: MetricsFactory, view: DaemonView, host: string, port: number): Promise<MetricsEndpoint> {
  const created = await factory(view);
  if (typeof created === 'function') {
    const server = await listenHttp(created, host, port);
    return { close: () => closeHttp(server) };
  }
  if ('handler' in created) {
    const server = await listenHttp(created.handler, host, port);
    return {
      close: async () => {
        await closeHttp(server);
        await created.close?.();
      },
    };
  }
  await created.listen(host, port);
  return { close: async () => void (await created.close()) };
}
