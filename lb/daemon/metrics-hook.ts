// Prometheus metrics for a running daemon (lb/metrics): the daemon is the scrape-time source of
// datapath counters and status, and feeds the two things only it observes — finished gRPC calls
// and Maglev table builds — into the registry. Served on metrics.listen.
import { XlbMetrics, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import type { Logger } from './log.js';
import type { DaemonView } from './view.js';

export async function startDaemonMetrics(view: DaemonView, host: string, port: number, log: Logger, cacheMs = 0): Promise<MetricsServer> {
  const metrics = new XlbMetrics({
    source: view,
    cacheMs,
    version: view.version,
    onSourceError: (what, err) => log.warn(`metrics: cannot read ${what}: ${(err as Error)?.message ?? String(err)}`),
  });
  const onRequest = (e: { method: string; code: string; seconds: number }) => metrics.onRequest(e.method, e.code, e.seconds);
  const onBackendSet = (e: { seconds: number }) => metrics.observeMaglevRebuild(e.seconds);
  const onInternalError = () => metrics.onInternalError();
  const onHealth = (e: { service: string; backend: string; to: string }) => metrics.onHealthTransition(e);
  view.on('apiRequest', onRequest);
  view.on('backendSet', onBackendSet);
  view.on('internalError', onInternalError);
  view.on('health', onHealth);
  const server = await startMetricsServer({ metrics, host: host === 'localhost' ? '127.0.0.1' : host, port, log });
  return {
    url: server.url,
    port: server.port,
    limits: server.limits,
    close: async () => {
      view.off('apiRequest', onRequest);
      view.off('backendSet', onBackendSet);
      view.off('internalError', onInternalError);
      view.off('health', onHealth);
      await server.close();
    },
  };
}
