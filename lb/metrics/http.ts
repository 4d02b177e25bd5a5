// The /metrics endpoint: plain node:http on the metrics address (default 127.0.0.1:9641).
// GET /metrics serves the exposition text; everything else is 404 (or 405 for other methods),
// so the port exposes nothing but metrics. A failed scrape says so without the error's text (it
// goes to the log). Connections, header and request times are bounded: a scraper needs little.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { XlbMetrics } from './registry.js';

export interface MetricsServerOptions {
  metrics: XlbMetrics;
  /** IP literal or "localhost"; IPv6 without brackets. */
  host: string;
  /** 0 = any free port (tests). */
  port: number;
  log?: { warn(m: string): void };
}

export interface MetricsServer {
  /** http://host:port/metrics with the port actually bound. */
  readonly url: string;
  readonly port: number;
  readonly limits: typeof METRICS_HTTP_LIMITS;
  close(): Promise<void>;
}

export const METRICS_HTTP_LIMITS = Object.freeze({
  maxConnections: 32,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
});

/** Bytes handed to the socket at a time. */
const PIECE_BYTES = 256 << 10;

/**
 * Writes the body a piece at a time, the next piece once the socket took the last one. A 36 MiB
 * body given to one write() is pushed by libuv in a loop for as long as the kernel takes it (over a
 * hundred ms on loopback), and 20 scrapers at once held the event loop that long; in pieces, the
 * API's calls get their turn between any two. A client that goes away ends the loop.
 */
async function sendInPieces(res: ServerResponse, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += PIECE_BYTES) {
      if (res.destroyed) return;
      const piece = chunk.subarray(at, at + PIECE_BYTES);
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('close', done);
          resolve();
        };
        res.once('close', done);
        res.write(piece, done);
      });
    }
  }
  res.end();
}

async function handle(o: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('use GET\n');
    return;
  }
  try {
    const body = await o.metrics.metricsBody();
    try {
      res.writeHead(200, { 'content-type': o.metrics.contentType, 'content-length': body.length });
      if (req.method === 'HEAD') res.end();
      else await sendInPieces(res, body.chunks);
    } finally {
      body.release();
    }
  } catch (err) {
    o.log?.warn(`metrics: scrape failed: ${(err as Error)?.stack ?? String(err)}`);
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed; see the xlbd log\n');
  }
}

export function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const l = METRICS_HTTP_LIMITS;
  const server = createServer(
    { headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.keepAliveTimeoutMs },
    (req, res) => void handle(o, req, res),
  );
  server.maxConnections = l.maxConnections;
  // Scrapers keep connections alive; close() must not wait for them.
  const closeAll = () => server.closeAllConnections();
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`metrics: cannot listen on ${o.host}:${o.port}: ${err.message}`)));
    server.listen({ host: o.host, port: o.port }, () => {
      const { port } = server.address() as AddressInfo;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      resolve({
        url: `http://${host}:${port}/metrics`,
        port,
        limits: l,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            closeAll();
          }),
      });
    });
  });
}
