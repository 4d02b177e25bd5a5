// The public door of xlbd's Prometheus metrics.
export { XlbMetrics, type XlbMetricsOptions } from './registry.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './http.js';
export { METRIC, MAGLEV_REBUILD_BUCKETS, API_DURATION_BUCKETS } from './names.js';
export type {
  MetricsSource,
  MetricsStats,
  MetricsStatus,
  MetricsServiceStats,
  MetricsBackendStats,
  MetricsInterfaceStatus,
  MetricsService,
  MetricsServiceSource,
} from './source.js';
